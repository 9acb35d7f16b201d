// Every top-up operation through the SDK's typed calls.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, randomKey, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const TOPUP_ID = /^tu_[A-Za-z0-9]{24}$/;

test('create returns a pending top-up', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 2000, currency: 'usd' });

  assert.match(tu.id, TOPUP_ID);
  assert.equal(tu.object, 'topup');
  assert.equal(tu.amount, 2000);
  assert.equal(tu.currency, 'usd');
  assert.equal(tu.status, 'pending');
  assert.equal(tu.livemode, false);
  assert.deepEqual(tu.metadata, {});
  assert.equal(tu.balance_transaction, null);
  assert.equal(tu.description, null);
  assert.equal(tu.failure_code, null);
  assert.equal(tu.failure_message, null);
  assert.equal(tu.statement_descriptor, null);
  assert.equal(tu.transfer_group, null);
  assert.ok(Number.isInteger(tu.created) && tu.created > 1_500_000_000);
  assert.ok(tu.expected_availability_date === null || tu.expected_availability_date >= tu.created);

  const ex = h.recorder.last;
  assert.equal(ex.method, 'POST');
  assert.equal(ex.path, '/v1/topups');
  assert.match(ex.requestHeaders['Idempotency-Key'], /^stripe-node-retry-/);
  assert.match(tu.lastResponse.requestId, /^req_/);
  assert.equal(tu.lastResponse.requestId, ex.headers['request-id']);
  assert.equal(tu.lastResponse.statusCode, 200);
});

test('create with every parameter', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({
    amount: 1234,
    currency: 'usd',
    description: 'Top-up for week of May 31',
    metadata: { order_id: '6735', note: 'with spaces & symbols' },
    source: 'btok_us_verified',
    statement_descriptor: 'WEEKLY TOPUP',
    transfer_group: 'group_17',
  });
  assert.equal(tu.amount, 1234);
  assert.equal(tu.description, 'Top-up for week of May 31');
  assert.deepEqual(tu.metadata, { order_id: '6735', note: 'with spaces & symbols' });
  assert.equal(tu.statement_descriptor, 'WEEKLY TOPUP');
  assert.equal(tu.transfer_group, 'group_17');
  assert.equal(tu.status, 'pending');
  // stripe-node encodes spaces as %20.
  assert.ok(h.recorder.last.requestData.includes('description=Top-up%20for%20week%20of%20May%2031'));
});

test('retrieve returns the same top-up', async () => {
  const stripe = h.stripe();
  const created = await stripe.topups.create({ amount: 777, currency: 'usd', metadata: { k: 'v' }, description: 'd' });
  const got = await stripe.topups.retrieve(created.id);
  assert.deepEqual({ ...got }, { ...created });
});

test('update: description and metadata merge, unset and clear', async () => {
  const stripe = h.stripe();
  let tu = await stripe.topups.create({ amount: 500, currency: 'usd', metadata: { a: '1', b: '2' } });

  tu = await stripe.topups.update(tu.id, { description: 'new', metadata: { c: '3' } });
  assert.equal(tu.description, 'new');
  assert.deepEqual(tu.metadata, { a: '1', b: '2', c: '3' });

  // '' unsets one key (metadata[a]=).
  tu = await stripe.topups.update(tu.id, { metadata: { a: '' } });
  assert.deepEqual(tu.metadata, { b: '2', c: '3' });

  // null also unsets a key in stripe-node.
  tu = await stripe.topups.update(tu.id, { metadata: { b: null } });
  assert.deepEqual(tu.metadata, { c: '3' });

  tu = await stripe.topups.update(tu.id, { metadata: { c: 'three' } });
  assert.deepEqual(tu.metadata, { c: 'three' });

  // metadata: '' clears every key (metadata=).
  tu = await stripe.topups.update(tu.id, { metadata: '' });
  assert.deepEqual(tu.metadata, {});

  const got = await stripe.topups.retrieve(tu.id);
  assert.deepEqual(got.metadata, {});
  assert.equal(got.description, 'new');
  assert.equal(got.amount, 500);
  assert.equal(got.status, 'pending');
});

test('cancel a pending top-up', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 900, currency: 'usd' });
  const canceled = await stripe.topups.cancel(tu.id);
  assert.equal(canceled.id, tu.id);
  assert.equal(canceled.status, 'canceled');
  assert.equal(canceled.balance_transaction, null);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'canceled');
});

test('list returns newest first', async () => {
  const stripe = h.stripe();
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await stripe.topups.create({ amount: 100 + i, currency: 'usd' })).id);
  const page = await stripe.topups.list();
  assert.equal(page.object, 'list');
  assert.equal(page.url, '/v1/topups');
  assert.equal(page.has_more, false);
  assert.deepEqual(page.data.map((t) => t.id), ids.toReversed());
});

test('list limit and has_more', async () => {
  const stripe = h.stripe();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await stripe.topups.create({ amount: 100, currency: 'usd' })).id);
  const page = await stripe.topups.list({ limit: 2 });
  assert.deepEqual(page.data.map((t) => t.id), [ids[2], ids[1]]);
  assert.equal(page.has_more, true);
  const rest = await stripe.topups.list({ limit: 2, starting_after: ids[1] });
  assert.deepEqual(rest.data.map((t) => t.id), [ids[0]]);
  assert.equal(rest.has_more, false);
});

test('default limit is ten', async () => {
  const stripe = h.stripe();
  for (let i = 0; i < 11; i++) await stripe.topups.create({ amount: 100, currency: 'usd' });
  const page = await stripe.topups.list();
  assert.equal(page.data.length, 10);
  assert.equal(page.has_more, true);
});

test('accounts are isolated by secret key', async () => {
  const alice = h.stripe();
  const bob = h.stripe();
  const tu = await alice.topups.create({ amount: 100, currency: 'usd' });
  assert.deepEqual((await bob.topups.list()).data, []);
  const err = await rejects(bob.topups.retrieve(tu.id));
  assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
  assert.equal(err.statusCode, 404);
  assert.deepEqual((await alice.topups.list()).data.map((t) => t.id), [tu.id]);
});

test('the same key is the same account across clients', async () => {
  const key = randomKey();
  const tu = await h.stripe({ key }).topups.create({ amount: 100, currency: 'usd' });
  assert.equal((await h.stripe({ key }).topups.retrieve(tu.id)).id, tu.id);
});

test('expand balance_transaction on a pending top-up', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 100, currency: 'usd', expand: ['balance_transaction'] });
  assert.equal(tu.balance_transaction, null);
  const got = await stripe.topups.retrieve(tu.id, { expand: ['balance_transaction'] });
  assert.equal(got.balance_transaction, null);
  const listed = await stripe.topups.list({ expand: ['data.balance_transaction'] });
  assert.deepEqual(listed.data.map((t) => t.id), [tu.id]);
});

test('per-request api key overrides the client key', async () => {
  const stripe = h.stripe();
  const other = randomKey();
  const tu = await stripe.topups.create({ amount: 5, currency: 'usd' }, { apiKey: other });
  assert.equal(h.recorder.last.requestHeaders.Authorization, `Bearer ${other}`);
  assert.deepEqual((await stripe.topups.list()).data, []);
  assert.equal((await h.stripe({ key: other }).topups.retrieve(tu.id)).id, tu.id);
});

test('odd metadata keys and values round-trip', async () => {
  const stripe = h.stripe();
  const metadata = { 'a b': 'c&d', plus: '1+1=2', pct: '100%', uni: 'café ✓', 'eq=': 'x' };
  const tu = await stripe.topups.create({ amount: 1, currency: 'usd', metadata });
  assert.deepEqual(tu.metadata, metadata);
  assert.deepEqual((await stripe.topups.retrieve(tu.id)).metadata, metadata);
  // stripe-node encodes a space as %20 inside the bracketed key.
  assert.ok(h.recorder.exchanges[0].requestData.includes('metadata[a%20b]=c%26d'));
});

test('the response Stripe-Version echoes the pinned API version', async () => {
  const stripe = h.stripe({ apiVersion: '2024-04-10' });
  const tu = await stripe.topups.create({ amount: 1, currency: 'usd' });
  assert.equal(h.recorder.last.requestHeaders['Stripe-Version'], '2024-04-10');
  assert.equal(tu.lastResponse.apiVersion, '2024-04-10');
});
