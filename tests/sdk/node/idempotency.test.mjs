// Idempotency-Key handling, and the SDK's own retries against injected
// server errors.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Harness, Stripe, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const { StripeAPIError, StripeIdempotencyError, StripeInvalidRequestError, StripeRateLimitError } = Stripe.errors;

const newKey = () => `test-${randomBytes(12).toString('hex')}`;

test('a replay is byte-identical', async () => {
  const stripe = h.stripe();
  const idempotencyKey = newKey();
  const params = { amount: 1500, currency: 'usd', metadata: { order: '1' } };

  const first = await stripe.topups.create(params, { idempotencyKey });
  const firstEx = h.recorder.last;
  const second = await stripe.topups.create(params, { idempotencyKey });
  const secondEx = h.recorder.last;

  assert.equal(second.id, first.id);
  assert.equal(secondEx.requestHeaders['Idempotency-Key'], idempotencyKey);
  assert.equal(secondEx.headers['idempotent-replayed'], 'true');
  assert.ok([undefined, 'false'].includes(firstEx.headers['idempotent-replayed']));
  assert.equal(secondEx.body, firstEx.body);
  assert.deepEqual((await stripe.topups.list()).data.map((x) => x.id), [first.id]);
});

test('a replay after the top-up changed returns the original answer', async () => {
  const stripe = h.stripe();
  const idempotencyKey = newKey();
  const tu = await stripe.topups.create({ amount: 5, currency: 'usd' }, { idempotencyKey });
  await stripe.topups.update(tu.id, { description: 'changed later' });
  const replay = await stripe.topups.create({ amount: 5, currency: 'usd' }, { idempotencyKey });
  assert.equal(replay.id, tu.id);
  assert.equal(replay.description, null, 'a replay is the stored first answer');
  assert.equal(h.recorder.last.headers['idempotent-replayed'], 'true');
});

test('cancel replay', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 5, currency: 'usd' });
  const idempotencyKey = newKey();
  const first = await stripe.topups.cancel(tu.id, {}, { idempotencyKey });
  // A second cancel would be refused, but the same key replays the success.
  const again = await stripe.topups.cancel(tu.id, {}, { idempotencyKey });
  assert.equal(first.status, 'canceled');
  assert.equal(again.status, 'canceled');
  assert.equal(h.recorder.last.headers['idempotent-replayed'], 'true');
});

test('same key, different params is an idempotency error', async () => {
  const stripe = h.stripe();
  const idempotencyKey = newKey();
  await stripe.topups.create({ amount: 100, currency: 'usd' }, { idempotencyKey });
  const err = await rejects(stripe.topups.create({ amount: 200, currency: 'usd' }, { idempotencyKey }));
  assert.ok(err instanceof StripeIdempotencyError, `${err.constructor.name}: ${err.message}`);
  assert.equal(err.statusCode, 400);
  assert.equal(err.rawType, 'idempotency_error');
  assert.ok(err.message.includes(idempotencyKey));
  assert.equal(err.requestId, h.recorder.last.headers['request-id']);
  assert.equal((await stripe.topups.list()).data.length, 1);
});

test('keys are scoped to the account', async () => {
  const idempotencyKey = newKey();
  const a = h.stripe();
  const b = h.stripe();
  const ta = await a.topups.create({ amount: 1, currency: 'usd' }, { idempotencyKey });
  const tb = await b.topups.create({ amount: 1, currency: 'usd' }, { idempotencyKey });
  assert.notEqual(ta.id, tb.id);
  assert.deepEqual((await b.topups.list()).data.map((x) => x.id), [tb.id]);
});

test('SDK-generated keys do not collapse distinct creates', async () => {
  const stripe = h.stripe();
  const a = await stripe.topups.create({ amount: 1, currency: 'usd' });
  const b = await stripe.topups.create({ amount: 1, currency: 'usd' });
  const keys = h.recorder.requestsTo('POST', '/v1/topups').map((e) => e.requestHeaders['Idempotency-Key']);
  assert.equal(new Set(keys).size, 2);
  assert.notEqual(a.id, b.id);
  assert.equal((await stripe.topups.list()).data.length, 2);
});

test('validation errors are not stored under the key', async () => {
  const stripe = h.stripe();
  const idempotencyKey = newKey();
  const err = await rejects(stripe.topups.create({ currency: 'usd' }, { idempotencyKey }));
  assert.ok(err instanceof StripeInvalidRequestError);
  const tu = await stripe.topups.create({ amount: 10, currency: 'usd' }, { idempotencyKey });
  assert.equal(tu.amount, 10);
});

// -- the SDK's retries against injected errors ----------------------------------

function retriedKeys(recorder) {
  const counts = new Map();
  for (const e of recorder.requestsTo('POST', '/v1/topups')) {
    const k = e.requestHeaders['Idempotency-Key'];
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1);
}

async function listAll(stripe, attempts = 40) {
  for (let i = 0; i < attempts; i++) {
    try {
      return await stripe.topups.list({ limit: 100 });
    } catch (e) {
      if (!(e instanceof StripeAPIError)) throw e;
    }
  }
  assert.fail(`list failed ${attempts} times in a row`);
}

test('every request failing with 500', async () => {
  const server = await h.startServer('--error-rate', '1', '--error-status', '500');
  const stripe = h.stripe({ server });
  const err = await rejects(stripe.topups.create({ amount: 1, currency: 'usd' }));
  assert.equal(err.constructor, StripeAPIError);
  assert.equal(err.statusCode, 500);
  assert.equal(err.rawType, 'api_error');
  assert.match(err.requestId, /^req_/);
  const posts = h.recorder.requestsTo('POST', '/v1/topups');
  const shouldRetry = posts[0].headers['stripe-should-retry'];
  assert.ok(['true', 'false'].includes(shouldRetry), 'injected errors set Stripe-Should-Retry');
  // stripe-node: 1 try + maxNetworkRetries (2) unless told not to.
  assert.equal(posts.length, shouldRetry === 'true' ? 3 : 1);
  assert.equal(new Set(posts.map((p) => p.requestHeaders['Idempotency-Key'])).size, 1);
});

test('a create retried after an injected 500 creates one top-up', async () => {
  const server = await h.startServer('--error-rate', '0.5', '--error-status', '500', '--seed', '11');
  const stripe = h.stripe({ server, maxNetworkRetries: 6 });
  const made = new Map();
  const failed = new Set();
  for (let i = 0; i < 12; i++) {
    const description = `create-${i}`;
    try {
      made.set(description, (await stripe.topups.create({ amount: 100 + i, currency: 'usd', description })).id);
    } catch (e) {
      if (!(e instanceof StripeAPIError)) throw e;
      failed.add(description);
    }
  }
  assert.ok(retriedKeys(h.recorder).length > 0, 'no create was retried: injected 500s must let the SDK retry');
  assert.ok(made.size > 0, 'every create failed');

  const listed = (await listAll(stripe)).data;
  const byDesc = new Map();
  for (const x of listed) byDesc.set(x.description, [...(byDesc.get(x.description) ?? []), x.id]);
  const dupes = [...byDesc].filter(([, v]) => v.length > 1);
  assert.deepEqual(dupes, [], 'a retried create made more than one top-up');
  for (const [desc, id] of made) assert.deepEqual(byDesc.get(desc), [id]);
  for (const desc of byDesc.keys()) assert.ok(made.has(desc) || failed.has(desc));
});

test('injected 429', async () => {
  const server = await h.startServer('--error-rate', '1', '--error-status', '429');
  const stripe = h.stripe({ server });
  const err = await rejects(stripe.topups.list());
  assert.ok(err instanceof StripeRateLimitError, `${err.constructor.name}: ${err.message}`);
  assert.equal(err.statusCode, 429);
  assert.equal(err.rawType, 'invalid_request_error');
  assert.equal(err.code, 'rate_limit');
  assert.match(String(err.headers['retry-after']), /^\d+$/);
  assert.equal(err.requestId, h.recorder.last.headers['request-id']);
});

test('injected 503', async () => {
  const server = await h.startServer('--error-rate', '1', '--error-status', '503');
  const stripe = h.stripe({ server, maxNetworkRetries: 0 });
  const err = await rejects(stripe.topups.retrieve('tu_anything'));
  assert.equal(err.constructor, StripeAPIError);
  assert.equal(err.statusCode, 503);
  assert.equal(err.rawType, 'api_error');
  assert.equal(h.recorder.exchanges.length, 1);
});

test('error rate 0 injects nothing', async () => {
  const server = await h.startServer('--error-rate', '0', '--error-status', '500');
  const stripe = h.stripe({ server, maxNetworkRetries: 0 });
  for (let i = 0; i < 20; i++) await stripe.topups.create({ amount: 1, currency: 'usd' });
  assert.equal((await stripe.topups.list({ limit: 100 })).data.length, 20);
});
