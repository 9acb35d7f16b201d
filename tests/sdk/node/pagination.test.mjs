// Listing: auto-pagination in both directions, cursors and filters.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, advance, assertStripeError, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

/** n top-ups, oldest first; amount defaults to 100 + index. */
async function createMany(stripe, n, params = {}) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    ids.push((await stripe.topups.create({ amount: 100 + i, currency: 'usd', ...params })).id);
  }
  return ids;
}

const idsOf = (page) => page.data.map((t) => t.id);

test('autoPagingEach walks every page once', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 23);
  const seen = [];
  await stripe.topups.list({ limit: 5 }).autoPagingEach((t) => {
    seen.push(t.id);
  });
  assert.deepEqual(seen, ids.toReversed());
  const pages = h.recorder.requestsTo('GET', '/v1/topups');
  assert.equal(pages.length, 5, '23 top-ups at 5 a page is 5 pages');
  assert.ok(pages[1].url.includes(`starting_after=${ids[ids.length - 5]}`));
});

test('autoPagingToArray and for await', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 9);
  const all = await stripe.topups.list({ limit: 3 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(all.map((t) => t.id), ids.toReversed());

  const seen = [];
  for await (const t of stripe.topups.list({ limit: 4 })) seen.push(t.id);
  assert.deepEqual(seen, ids.toReversed());

  // Stopping early fetches no more pages than needed.
  h.recorder.clear();
  const firstFive = await stripe.topups.list({ limit: 2 }).autoPagingToArray({ limit: 5 });
  assert.deepEqual(firstFive.map((t) => t.id), ids.toReversed().slice(0, 5));
  assert.equal(h.recorder.requestsTo('GET', '/v1/topups').length, 3);
});

test('auto-paging backwards with ending_before', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 17); // ids[16] is the newest

  const page = await stripe.topups.list({ limit: 4, ending_before: ids[3] });
  assert.deepEqual(idsOf(page), [ids[7], ids[6], ids[5], ids[4]]);
  assert.equal(page.has_more, true);

  h.recorder.clear();
  const seen = await stripe.topups.list({ limit: 4, ending_before: ids[3] }).autoPagingToArray({ limit: 100 });
  // stripe-node reverses each page: oldest to newest.
  assert.deepEqual(seen.map((t) => t.id), ids.slice(4));
  const pages = h.recorder.requestsTo('GET', '/v1/topups');
  assert.equal(pages.length, 4);
  assert.ok(pages[1].url.includes(`ending_before=${ids[7]}`));
});

test('ending_before pages by hand', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 7);
  let page = await stripe.topups.list({ limit: 3, ending_before: ids[0] });
  assert.deepEqual(idsOf(page), [ids[3], ids[2], ids[1]]);
  assert.equal(page.has_more, true);
  page = await stripe.topups.list({ limit: 3, ending_before: ids[3] });
  assert.deepEqual(idsOf(page), [ids[6], ids[5], ids[4]]);
  assert.equal(page.has_more, false);
  page = await stripe.topups.list({ limit: 3, ending_before: ids[6] });
  assert.deepEqual(page.data, []);
  assert.equal(page.has_more, false);
});

test('starting_after the oldest is empty', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 2);
  const page = await stripe.topups.list({ starting_after: ids[0] });
  assert.deepEqual(page.data, []);
  assert.equal(page.has_more, false);
});

test('limit bounds', async () => {
  const stripe = h.stripe();
  await createMany(stripe, 3);
  assert.equal((await stripe.topups.list({ limit: 1 })).data.length, 1);
  assert.equal((await stripe.topups.list({ limit: 100 })).data.length, 3);
});

test('status filter', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 4);
  await stripe.topups.cancel(ids[1]);
  await stripe.topups.cancel(ids[3]);
  assert.deepEqual(idsOf(await stripe.topups.list({ status: 'canceled' })), [ids[3], ids[1]]);
  assert.deepEqual(idsOf(await stripe.topups.list({ status: 'pending' })), [ids[2], ids[0]]);
  assert.deepEqual(idsOf(await stripe.topups.list({ status: 'succeeded' })), []);
});

test('status filter with auto-paging', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 12);
  const even = ids.filter((_, i) => i % 2 === 0);
  for (const id of even) await stripe.topups.cancel(id);
  const seen = await stripe.topups.list({ status: 'canceled', limit: 2 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(seen.map((t) => t.id), even.toReversed());
});

test('amount filters', async () => {
  const stripe = h.stripe();
  await createMany(stripe, 6); // amounts 100..105
  const amounts = async (params) => (await stripe.topups.list(params)).data.map((t) => t.amount).sort();
  assert.deepEqual(await amounts({ amount: 102 }), [102]);
  assert.deepEqual(await amounts({ amount: { gte: 103 } }), [103, 104, 105]);
  assert.deepEqual(await amounts({ amount: { gt: 103 } }), [104, 105]);
  assert.deepEqual(await amounts({ amount: { lt: 102 } }), [100, 101]);
  assert.deepEqual(await amounts({ amount: { lte: 102 } }), [100, 101, 102]);
  assert.deepEqual(await amounts({ amount: { gte: 101, lt: 104 } }), [101, 102, 103]);
  assert.deepEqual(await amounts({ amount: 999 }), []);
});

test('created filters on a frozen clock', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 3);
  const { created } = await stripe.topups.retrieve(ids[0]);
  const listed = async (params) => idsOf(await stripe.topups.list(params));
  const newestFirst = ids.toReversed();
  assert.deepEqual(await listed({ created }), newestFirst);
  assert.deepEqual(await listed({ created: { gte: created } }), newestFirst);
  assert.deepEqual(await listed({ created: { lte: created } }), newestFirst);
  assert.deepEqual(await listed({ created: { gt: created } }), []);
  assert.deepEqual(await listed({ created: { lt: created } }), []);
  assert.deepEqual(await listed({ created: created + 1 }), []);
});

test('created filters across clock advances', async () => {
  const server = await h.startServer();
  const stripe = h.stripe({ server });
  const a = await stripe.topups.create({ amount: 1, currency: 'usd' });
  await advance(stripe, 100);
  const b = await stripe.topups.create({ amount: 2, currency: 'usd' });
  await advance(stripe, 100);
  const c = await stripe.topups.create({ amount: 3, currency: 'usd' });
  assert.equal(b.created, a.created + 100);
  assert.equal(c.created, a.created + 200);
  const listed = async (params) => idsOf(await stripe.topups.list(params));
  assert.deepEqual(await listed({ created: { gte: b.created } }), [c.id, b.id]);
  assert.deepEqual(await listed({ created: { gt: b.created } }), [c.id]);
  assert.deepEqual(await listed({ created: { lt: b.created } }), [a.id]);
  assert.deepEqual(await listed({ created: { lte: b.created } }), [b.id, a.id]);
  assert.deepEqual(await listed({ created: b.created }), [b.id]);
  assert.deepEqual(await listed({ created: { gt: a.created, lt: c.created } }), [b.id]);
});

test('filters combine with cursors', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 8, { amount: 500 });
  const others = await createMany(stripe, 3, { amount: 7 });
  const page = await stripe.topups.list({ amount: 500, limit: 3, starting_after: ids[5] });
  assert.deepEqual(idsOf(page), [ids[4], ids[3], ids[2]]);
  assert.equal(page.has_more, true);
  assert.ok(!page.data.some((t) => others.includes(t.id)));
});

for (const [params, param, message] of [
  [{ limit: 0 }, 'limit', 'This value must be greater than or equal to 1.'],
  [{ limit: 101 }, 'limit', 'This value must be less than or equal to 100.'],
  [{ status: 'reversed' }, 'status', 'Invalid status: must be one of canceled, failed, pending, or succeeded'],
  [{ starting_after: 'tu_doesnotexist' }, 'starting_after', "No such topup: 'tu_doesnotexist'"],
  [{ ending_before: 'tu_doesnotexist' }, 'ending_before', "No such topup: 'tu_doesnotexist'"],
]) {
  test(`bad list params: ${JSON.stringify(params)}`, async () => {
    const stripe = h.stripe();
    const err = await rejects(stripe.topups.list(params));
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, param);
    assert.equal(err.message, message);
    assert.equal(err.rawType, 'invalid_request_error');
    assert.equal(err.requestId, h.recorder.last.headers['request-id']);
  });
}

test('both cursors are refused', async () => {
  const stripe = h.stripe();
  const ids = await createMany(stripe, 2);
  const err = await rejects(stripe.topups.list({ starting_after: ids[0], ending_before: ids[1] }));
  assertStripeError(err, h.recorder, {
    cls: Stripe.errors.StripeInvalidRequestError,
    status: 400,
    message: 'Received both starting_after and ending_before parameters. Please pass in only one.',
  });
});

test('expanding a field of the list itself is refused', async () => {
  const stripe = h.stripe();
  const err = await rejects(stripe.topups.list({ expand: ['balance_transaction'] }));
  assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
  assert.equal(err.statusCode, 400);
  assert.ok(err.message.includes('data.balance_transaction'));
});
