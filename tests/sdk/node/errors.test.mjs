// Every documented error surfaces as the SDK's typed error, with the HTTP
// status, code, param, message and request id the server sent.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, assertStripeError, randomKey, rejects, validator } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const { StripeInvalidRequestError, StripeAuthenticationError } = Stripe.errors;

const createError = (stripe, params) => rejects(stripe.topups.create(params));

test('missing amount', async () => {
  const err = await createError(h.stripe(), { currency: 'usd' });
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, code: 'parameter_missing', param: 'amount',
    message: 'Missing required param: amount.',
  });
});

test('missing currency', async () => {
  const err = await createError(h.stripe(), { amount: 100 });
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, code: 'parameter_missing', param: 'currency',
    message: 'Missing required param: currency.',
  });
});

test('unknown parameter', async () => {
  const err = await createError(h.stripe(), { amount: 100, currency: 'usd', foo: 'bar' });
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, code: 'parameter_unknown', param: 'foo',
    message: 'Received unknown parameter: foo',
  });
});

test('invalid integer', async () => {
  const err = await createError(h.stripe(), { amount: 'abc', currency: 'usd' });
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, code: 'parameter_invalid_integer', param: 'amount',
    message: 'Invalid integer: abc',
  });
});

for (const amount of [0, -5]) {
  test(`non-positive amount ${amount}`, async () => {
    const err = await createError(h.stripe(), { amount, currency: 'usd' });
    assert.ok(err instanceof StripeInvalidRequestError);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'amount');
    assert.equal(err.requestId, h.recorder.last.headers['request-id']);
  });
}

test('unknown currency', async () => {
  const err = await createError(h.stripe(), { amount: 100, currency: 'zzz' });
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, param: 'currency', prefix: 'Invalid currency: zzz.',
  });
});

test('unknown source', async () => {
  const err = await createError(h.stripe(), { amount: 100, currency: 'usd', source: 'btok_nope' });
  assert.ok(err instanceof StripeInvalidRequestError);
  assert.equal(err.statusCode, 400);
  assert.equal(err.message, "No such source: 'btok_nope'");
  assert.equal(err.param, 'source');
  assert.equal(err.requestId, h.recorder.last.headers['request-id']);
});

test('statement descriptor too long', async () => {
  const stripe = h.stripe();
  const err = await createError(stripe, { amount: 100, currency: 'usd', statement_descriptor: 'X'.repeat(16) });
  assert.ok(err instanceof StripeInvalidRequestError);
  assert.equal(err.statusCode, 400);
  assert.equal(err.param, 'statement_descriptor');
  const ok = await stripe.topups.create({ amount: 100, currency: 'usd', statement_descriptor: 'X'.repeat(15) });
  assert.equal(ok.statement_descriptor, 'X'.repeat(15));
});

for (const [name, metadata, fragment] of [
  ['key over 40 characters', { ['k'.repeat(41)]: 'v' }, 'Invalid key'],
  ['value over 500 characters', { k: 'v'.repeat(501) }, 'Invalid val'],
  ['more than 50 keys', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), 'Metadata can have up to 50 keys'],
]) {
  test(`metadata limits: ${name}`, async () => {
    const err = await createError(h.stripe(), { amount: 100, currency: 'usd', metadata });
    assert.ok(err instanceof StripeInvalidRequestError);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'metadata');
    assert.ok(err.message.includes(fragment), err.message);
  });
}

test('metadata at the limits is accepted', async () => {
  const metadata = Object.fromEntries(
    Array.from({ length: 50 }, (_, i) => [String(i).padStart(2, '0') + 'k'.repeat(38), 'v'.repeat(500)]),
  );
  const tu = await h.stripe().topups.create({ amount: 100, currency: 'usd', metadata });
  assert.deepEqual(tu.metadata, metadata);
});

for (const call of ['retrieve', 'update', 'cancel']) {
  test(`unknown top-up is 404 on ${call}`, async () => {
    const err = await rejects(h.stripe().topups[call]('tu_doesnotexist'));
    assertStripeError(err, h.recorder, {
      cls: StripeInvalidRequestError, status: 404, code: 'resource_missing', param: 'id',
      message: "No such topup: 'tu_doesnotexist'",
    });
  });
}

test('update refuses fields that cannot change', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 100, currency: 'usd' });
  const err = await rejects(stripe.topups.update(tu.id, { amount: 200 }));
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, code: 'parameter_unknown', param: 'amount',
    message: 'Received unknown parameter: amount',
  });
  assert.equal((await stripe.topups.retrieve(tu.id)).amount, 100);
});

test('cancel twice', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 100, currency: 'usd' });
  await stripe.topups.cancel(tu.id);
  const err = await rejects(stripe.topups.cancel(tu.id));
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400,
    message: 'You cannot cancel this top-up because it has a status of canceled. ' +
      'Only a top-up with a status of pending may be canceled.',
  });
});

test('cancel a succeeded top-up', async () => {
  const server = await h.startServer('--settle-after', '0s');
  const stripe = h.stripe({ server });
  const tu = await stripe.topups.create({ amount: 100, currency: 'usd' });
  assert.equal(tu.status, 'pending');
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
  const err = await rejects(stripe.topups.cancel(tu.id));
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400,
    message: 'You cannot cancel this top-up because it has a status of succeeded. ' +
      'Only a top-up with a status of pending may be canceled.',
  });
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
});

test('bad expand', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 100, currency: 'usd' });
  const err = await rejects(stripe.topups.retrieve(tu.id, { expand: ['zzz'] }));
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 400, message: 'This property cannot be expanded (zzz).',
  });
});

test('unrecognized URL', async () => {
  const err = await rejects(h.stripe().rawRequest('GET', '/v1/topups/tu_1/nope'));
  assertStripeError(err, h.recorder, {
    cls: StripeInvalidRequestError, status: 404, prefix: 'Unrecognized request URL (GET: /v1/topups/tu_1/nope).',
  });
});

// -- authentication -----------------------------------------------------------

test('invalid API key', async () => {
  const err = await rejects(h.stripe({ key: 'not_a_stripe_key_123456' }).topups.list());
  assertStripeError(err, h.recorder, {
    cls: StripeAuthenticationError, status: 401, prefix: 'Invalid API Key provided: ',
  });
  assert.ok(!err.message.includes('not_a_stripe_key_123456'), 'the key is masked');
});

test('live key is refused', async () => {
  const key = randomKey('sk_live_');
  const err = await rejects(h.stripe({ key }).topups.create({ amount: 100, currency: 'usd' }));
  assertStripeError(err, h.recorder, { cls: StripeAuthenticationError, status: 401 });
  assert.ok(!err.message.includes(key));
});

test('publishable key is refused', async () => {
  const err = await rejects(h.stripe({ key: randomKey('pk_test_') }).topups.list());
  assertStripeError(err, h.recorder, {
    cls: StripeAuthenticationError, status: 401, code: 'secret_key_required',
    message: 'This API call cannot be made with a publishable API key. Please use a secret API key. ' +
      'You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.',
  });
});

test('no API key', async () => {
  // stripe-node refuses to send a request without a key, so this is raw HTTP.
  const r = await h.server.http('GET', '/v1/topups', { key: null });
  assert.equal(r.status, 401);
  validator.validateResponse('GET', '/v1/topups', r.status, r.json());
  assert.equal(r.json().error.type, 'invalid_request_error');
  assert.ok(r.json().error.message.startsWith('You did not provide an API key.'));
  assert.match(r.headers.get('request-id'), /^req_/);
});
