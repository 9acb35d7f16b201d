// The event log: GET /v1/events and /v1/events/{id} through stripe-node.
//
// What emits what: creating a top-up emits topup.created; settlement (on the
// manual clock, once it passes the top-up's due time, 5 s by default) emits
// topup.succeeded, topup.failed or topup.canceled; a cancel request
// topup.canceled; the reverse test helper topup.reversed; a success whose
// funds are available at once is followed by balance.available. A metadata
// update emits nothing.
//
// Every test works on an account of its own (a fresh key). Tests that move
// the clock do it on a server of their own, so the shared server's clock
// stays put.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, advance, clock, header, helper, randomKey, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const { StripeInvalidRequestError } = Stripe.errors;

const EVENT_ID = /^evt_[A-Za-z0-9]+$/;
const API_VERSION = '2026-10-28.endive';
const SETTLE_AFTER = 5; // the server's default --settle-after, in seconds

/** A client on a dedicated manual-clock server with default settings. */
async function clocked(config = {}) {
  const server = await h.startServer();
  return h.stripe({ server, ...config });
}

/** Every event the list answers with, newest first, through auto-paging. */
async function allEvents(stripe, params = {}, options = undefined) {
  const seen = [];
  for await (const e of stripe.events.list(params, options)) seen.push(e);
  return seen;
}

const typesOf = (events) => events.map((e) => e.type);
const idsOf = (events) => events.map((e) => e.id);
const requestOf = (e) => [e.request.id, e.request.idempotency_key];
/** Plain JSON, without the SDK's non-enumerable extras. */
const plain = (o) => JSON.parse(JSON.stringify(o));

function create(stripe, params = {}, options = undefined) {
  return stripe.topups.create({ amount: 1000, currency: 'usd', ...params }, options);
}

const topupHelper = (stripe, id, action) =>
  helper(stripe, 'POST', `/v1/test_helpers/topups/${id}/${action}`);

// -- per account -------------------------------------------------------------------

test('a fresh account has no events', async () => {
  const stripe = h.stripe();
  const page = await stripe.events.list();
  assert.equal(page.object, 'list');
  assert.deepEqual(page.data, []);
  assert.equal(page.has_more, false);
  assert.equal(page.url, '/v1/events');
  assert.equal(h.recorder.last.schema, 'GET /v1/events');
});

test('events are per account', async () => {
  const a = h.stripe();
  const b = h.stripe();
  await create(a);
  await create(a);
  const events = await allEvents(a);
  assert.deepEqual(typesOf(events), ['topup.created', 'topup.created']);
  assert.deepEqual(await allEvents(b), []);

  // Another account's event is not found either.
  const err = await rejects(b.events.retrieve(events[0].id));
  assert.ok(err instanceof StripeInvalidRequestError, err.message);
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, 'resource_missing');
});

// -- the event object ------------------------------------------------------------------

test('topup.created event', async () => {
  const stripe = h.stripe();
  const idempotencyKey = `evt-test-${randomKey('')}`;
  const tu = await create(stripe, { amount: 2500, metadata: { order: '42' } }, { idempotencyKey });
  const createEx = h.recorder.last;
  const { now } = await clock(stripe);

  const page = await stripe.events.list();
  assert.equal(page.data.length, 1);
  assert.equal(page.has_more, false);
  const evt = page.data[0];

  assert.match(evt.id, EVENT_ID);
  assert.equal(evt.object, 'event');
  assert.equal(evt.type, 'topup.created');
  assert.equal(evt.api_version, API_VERSION);
  assert.equal(evt.created, now);
  assert.equal(evt.created, tu.created);
  assert.equal(evt.livemode, false);
  assert.equal(evt.pending_webhooks, 0);
  assert.ok(!('account' in evt), 'only a connected account\'s events name one');

  // The request that caused it: the Request-Id of the create's response.
  assert.match(evt.request.id, /^req_/);
  assert.equal(evt.request.id, tu.lastResponse.requestId);
  assert.equal(evt.request.id, createEx.headers['request-id']);
  assert.equal(evt.request.idempotency_key, idempotencyKey);
  assert.equal(header(createEx.requestHeaders, 'Idempotency-Key'), idempotencyKey);

  // data.object is the top-up as the create answered it.
  assert.deepEqual(evt.data.object, JSON.parse(createEx.body));
  assert.equal(evt.data.object.object, 'topup');
  assert.equal(evt.data.object.status, 'pending');
  assert.deepEqual(evt.data.object.metadata, { order: '42' });
});

test('retrieve by id', async () => {
  const stripe = h.stripe();
  const tu = await create(stripe);
  await stripe.topups.cancel(tu.id);
  const listed = await allEvents(stripe);
  assert.deepEqual(typesOf(listed), ['topup.canceled', 'topup.created']);

  for (const evt of listed) {
    const got = await stripe.events.retrieve(evt.id);
    assert.equal(h.recorder.last.schema, 'GET /v1/events/{id}');
    assert.deepEqual(plain(got), plain(evt));
    assert.equal(got.lastResponse.requestId, h.recorder.last.headers['request-id']);
  }
});

test('retrieving an unknown event is a 404 StripeInvalidRequestError', async () => {
  const stripe = h.stripe();
  const err = await rejects(stripe.events.retrieve('evt_x'));
  assert.ok(err instanceof StripeInvalidRequestError, `${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.constructor, StripeInvalidRequestError);
  assert.equal(err.type, 'StripeInvalidRequestError');
  assert.equal(err.rawType, 'invalid_request_error');
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, 'resource_missing');
  assert.equal(err.message, "No such event: 'evt_x'");
  assert.equal(err.doc_url, 'https://stripe.com/docs/error-codes/resource-missing');
  assert.equal(err.requestId, h.recorder.last.headers['request-id']);
  assert.equal(h.recorder.last.schema, 'error');
});

// -- what emits what ------------------------------------------------------------------

test('settlement emits topup.succeeded, then balance.available', async () => {
  const stripe = await clocked();
  const tu = await create(stripe, { amount: 4200, metadata: { k: 'v' } });
  const { now: start } = await clock(stripe);

  assert.equal((await advance(stripe, SETTLE_AFTER - 1)).fired, 0);
  assert.deepEqual(typesOf(await allEvents(stripe)), ['topup.created']);

  assert.equal((await advance(stripe, 1)).fired, 1);
  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), ['balance.available', 'topup.succeeded', 'topup.created']);
  const [available, succeeded, created] = events;

  assert.equal(created.created, start);
  assert.equal(succeeded.created, start + SETTLE_AFTER);
  assert.equal(available.created, start + SETTLE_AFTER);
  assert.equal(created.request.id, tu.lastResponse.requestId);
  // Settlement and funds becoming available are caused by no request.
  assert.deepEqual(requestOf(succeeded), [null, null]);
  assert.deepEqual(requestOf(available), [null, null]);

  const snap = succeeded.data.object;
  assert.equal(snap.object, 'topup');
  assert.equal(snap.id, tu.id);
  assert.equal(snap.status, 'succeeded');
  assert.match(snap.balance_transaction, /^txn_/);
  assert.deepEqual(snap.metadata, { k: 'v' });

  const bal = available.data.object;
  assert.equal(bal.object, 'balance');
  assert.equal(bal.livemode, false);
  assert.deepEqual(
    bal.available.filter((b) => b.currency === 'usd').map((b) => b.amount),
    [4200],
  );
  // The snapshot is the balance as GET /v1/balance then showed it.
  assert.deepEqual(bal, plain(await stripe.balance.retrieve()));

  // Reading the settled top-up emits nothing more.
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
  assert.equal((await allEvents(stripe)).length, 3);
});

for (const [name, params] of [
  ['metadata[mock_outcome]=failed', { metadata: { mock_outcome: 'failed' } }],
  ['a failing test token', { source: 'btok_us_verified_noAccount' }],
]) {
  test(`failed settlement emits topup.failed (${name})`, async () => {
    const stripe = await clocked();
    const tu = await create(stripe, params);
    await advance(stripe, SETTLE_AFTER);

    const events = await allEvents(stripe);
    assert.deepEqual(typesOf(events), ['topup.failed', 'topup.created'], 'no balance.available');
    const [failed, created] = events;
    assert.deepEqual(requestOf(failed), [null, null]);
    assert.equal(failed.data.object.id, tu.id);
    assert.equal(failed.data.object.status, 'failed');
    assert.ok(failed.data.object.failure_code);
    assert.equal(failed.data.object.balance_transaction, null);
    assert.equal(created.data.object.failure_code, null);
  });
}

test('canceled at settlement emits topup.canceled', async () => {
  const stripe = await clocked();
  const tu = await create(stripe, { metadata: { mock_outcome: 'canceled' } });
  await advance(stripe, SETTLE_AFTER);

  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), ['topup.canceled', 'topup.created']);
  assert.deepEqual(requestOf(events[0]), [null, null]);
  assert.equal(events[0].data.object.id, tu.id);
  assert.equal(events[0].data.object.status, 'canceled');
});

test('a cancel request emits topup.canceled', async () => {
  const stripe = h.stripe();
  const tu = await create(stripe);
  const idempotencyKey = `cancel-${randomKey('')}`;
  const canceled = await stripe.topups.cancel(tu.id, {}, { idempotencyKey });

  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), ['topup.canceled', 'topup.created']);
  assert.deepEqual(requestOf(events[0]), [canceled.lastResponse.requestId, idempotencyKey]);
  assert.deepEqual(events[0].data.object, plain(canceled));
});

test('the reverse test helper emits topup.reversed', async () => {
  const stripe = await clocked();
  const tu = await create(stripe);
  await advance(stripe, SETTLE_AFTER);
  const reversed = await topupHelper(stripe, tu.id, 'reverse');
  const reverseEx = h.recorder.last;
  assert.equal(reversed.status, 'reversed');

  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), [
    'topup.reversed', 'balance.available', 'topup.succeeded', 'topup.created',
  ]);
  assert.deepEqual(requestOf(events[0]), [
    reverseEx.headers['request-id'],
    header(reverseEx.requestHeaders, 'Idempotency-Key'),
  ]);
  assert.deepEqual(events[0].data.object, JSON.parse(reverseEx.body));
  assert.equal(events[0].data.object.status, 'reversed');
});

test('a metadata update emits nothing', async () => {
  const stripe = h.stripe();
  const tu = await create(stripe, { metadata: { a: '1' } });
  await stripe.topups.update(tu.id, { metadata: { b: '2' }, description: 'changed' });
  assert.deepEqual(typesOf(await allEvents(stripe)), ['topup.created']);
});

// -- snapshots ---------------------------------------------------------------------------

test('snapshots do not change afterwards', async () => {
  const stripe = await clocked();
  const tu = await create(stripe, { metadata: { a: '1' } });
  const createdId = (await allEvents(stripe))[0].id;

  await stripe.topups.update(tu.id, { metadata: { b: '2' }, description: 'later' });
  await advance(stripe, SETTLE_AFTER);
  await stripe.topups.update(tu.id, { metadata: { c: '3' } });
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');

  const byType = new Map((await allEvents(stripe)).map((e) => [e.type, e]));
  assert.deepEqual([...byType.keys()].sort(), ['balance.available', 'topup.created', 'topup.succeeded']);

  for (const created of [byType.get('topup.created'), await stripe.events.retrieve(createdId)]) {
    const snap = created.data.object;
    assert.equal(snap.status, 'pending');
    assert.deepEqual(snap.metadata, { a: '1' });
    assert.equal(snap.description, null);
    assert.equal(snap.balance_transaction, null);
  }

  const succeeded = byType.get('topup.succeeded').data.object;
  assert.equal(succeeded.status, 'succeeded');
  assert.deepEqual(succeeded.metadata, { a: '1', b: '2' });
  assert.equal(succeeded.description, 'later');
});

// -- request ids and idempotency keys --------------------------------------------------------

test('idempotency key propagation', async () => {
  const stripe = h.stripe();
  const explicit = `order-7-${randomKey('')}`;
  const a = await create(stripe, { amount: 1 }, { idempotencyKey: explicit });
  // Without one, stripe-node makes one up (it retries POSTs).
  const b = await create(stripe, { amount: 2 });
  const generated = header(h.recorder.last.requestHeaders, 'Idempotency-Key');
  assert.match(generated, /^stripe-node-retry-/);
  // Plain HTTP, no Idempotency-Key header at all.
  const raw = await h.server.http('POST', '/v1/topups', {
    key: stripe.secretKey,
    data: { amount: '3', currency: 'usd' },
  });
  assert.equal(raw.status, 200);
  const cId = raw.json().id;

  const byTopup = new Map((await allEvents(stripe)).map((e) => [e.data.object.id, e]));
  assert.deepEqual([...byTopup.keys()].sort(), [a.id, b.id, cId].sort());
  assert.deepEqual(requestOf(byTopup.get(a.id)), [a.lastResponse.requestId, explicit]);
  assert.deepEqual(requestOf(byTopup.get(b.id)), [b.lastResponse.requestId, generated]);
  assert.deepEqual(requestOf(byTopup.get(cId)), [raw.headers.get('request-id'), null]);
});

test('an idempotent replay emits no second event', async () => {
  const stripe = h.stripe();
  const idempotencyKey = `replay-${randomKey('')}`;
  const first = await create(stripe, { amount: 77 }, { idempotencyKey });
  const again = await create(stripe, { amount: 77 }, { idempotencyKey });
  assert.equal(again.id, first.id);
  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), ['topup.created']);
  assert.deepEqual(requestOf(events[0]), [first.lastResponse.requestId, idempotencyKey]);
});

// -- listing -------------------------------------------------------------------------------

test('autoPagingEach walks every page once', async () => {
  const stripe = h.stripe();
  const tus = [];
  for (let i = 0; i < 7; i++) tus.push((await create(stripe, { amount: 100 + i })).id);

  const first = await stripe.events.list({ limit: 3 });
  assert.equal(first.data.length, 3);
  assert.equal(first.has_more, true);

  h.recorder.clear();
  const seen = [];
  await stripe.events.list({ limit: 3 }).autoPagingEach((e) => {
    seen.push(e);
  });

  // Newest first, every event once.
  assert.deepEqual(typesOf(seen), Array(7).fill('topup.created'));
  assert.deepEqual(seen.map((e) => e.data.object.id), tus.toReversed());
  assert.equal(new Set(idsOf(seen)).size, 7);
  const pages = h.recorder.requestsTo('GET', '/v1/events');
  assert.equal(pages.length, 3, '7 events at 3 a page is 3 pages');
  assert.ok(pages[1].url.includes(`starting_after=${seen[2].id}`), pages[1].url);
  assert.ok(pages[2].url.includes(`starting_after=${seen[5].id}`), pages[2].url);

  // for await and autoPagingToArray see the same.
  const viaForAwait = [];
  for await (const e of stripe.events.list({ limit: 3 })) viaForAwait.push(e.id);
  assert.deepEqual(viaForAwait, idsOf(seen));
  const viaArray = await stripe.events.list({ limit: 3 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(idsOf(viaArray), idsOf(seen));
});

test('cursors and limit', async () => {
  const stripe = h.stripe();
  for (let i = 0; i < 5; i++) await create(stripe, { amount: i + 1 });
  const ids = idsOf(await allEvents(stripe)); // newest first

  let page = await stripe.events.list({ limit: 2 });
  assert.deepEqual(idsOf(page.data), ids.slice(0, 2));
  assert.equal(page.has_more, true);

  page = await stripe.events.list({ limit: 2, starting_after: ids[1] });
  assert.deepEqual(idsOf(page.data), ids.slice(2, 4));
  assert.equal(page.has_more, true);

  page = await stripe.events.list({ limit: 2, starting_after: ids[3] });
  assert.deepEqual(idsOf(page.data), ids.slice(4));
  assert.equal(page.has_more, false);

  page = await stripe.events.list({ limit: 2, ending_before: ids[4] });
  assert.deepEqual(idsOf(page.data), ids.slice(2, 4));
  assert.equal(page.has_more, true);

  page = await stripe.events.list({ limit: 10, ending_before: ids[2] });
  assert.deepEqual(idsOf(page.data), ids.slice(0, 2));
  assert.equal(page.has_more, false);

  // Walked backwards: stripe-node yields each page oldest to newest.
  const back = await stripe.events.list({ limit: 2, ending_before: ids[4] }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(idsOf(back), ids.slice(0, 4).toReversed());
});

/** succeeded (created, succeeded, balance.available), failed (created,
 * failed) and canceled (created, canceled) top-ups; the clock advanced. */
async function mixedHistory(stripe) {
  await create(stripe, { amount: 100 });
  await create(stripe, { amount: 200, metadata: { mock_outcome: 'failed' } });
  const gone = await create(stripe, { amount: 300 });
  await stripe.topups.cancel(gone.id);
  await advance(stripe, SETTLE_AFTER);
}

test('type filter and wildcards', async () => {
  const stripe = await clocked();
  await mixedHistory(stripe);
  const everything = await allEvents(stripe);
  assert.deepEqual(typesOf(everything).sort(), [
    'balance.available', 'topup.canceled', 'topup.created', 'topup.created', 'topup.created',
    'topup.failed', 'topup.succeeded',
  ]);

  const listed = (type) => allEvents(stripe, { type });
  assert.deepEqual(typesOf(await listed('topup.created')), Array(3).fill('topup.created'));
  assert.deepEqual(typesOf(await listed('balance.available')), ['balance.available']);
  assert.deepEqual(typesOf(await listed('topup.failed')), ['topup.failed']);
  assert.deepEqual(
    idsOf(await listed('topup.*')),
    idsOf(everything.filter((e) => e.type.startsWith('topup.'))),
  );
  assert.deepEqual(
    idsOf(await listed('balance.*')),
    idsOf(everything.filter((e) => e.type === 'balance.available')),
  );
  assert.deepEqual(idsOf(await listed('*')), idsOf(everything));
  assert.deepEqual(await listed('charge.succeeded'), []);
});

test('types[] filter', async () => {
  const stripe = await clocked();
  await mixedHistory(stripe);
  const everything = await allEvents(stripe);

  const picked = await allEvents(stripe, { types: ['topup.succeeded', 'balance.available'] });
  assert.deepEqual(
    idsOf(picked),
    idsOf(everything.filter((e) => ['topup.succeeded', 'balance.available'].includes(e.type))),
  );
  assert.deepEqual(typesOf(picked), ['balance.available', 'topup.succeeded']);
  assert.deepEqual(typesOf(await allEvents(stripe, { types: ['topup.canceled'] })), ['topup.canceled']);
});

test('type and types[] together are refused', async () => {
  const stripe = h.stripe();
  await create(stripe);
  const err = await rejects(stripe.events.list({ type: 'topup.*', types: ['topup.created'] }));
  assert.ok(err instanceof StripeInvalidRequestError, `${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.statusCode, 400);
  assert.equal(err.rawType, 'invalid_request_error');
  assert.equal(err.requestId, h.recorder.last.headers['request-id']);
});

test('created filters', async () => {
  const stripe = await clocked();
  const a = await create(stripe, { amount: 1 });
  await stripe.topups.cancel(a.id);
  const t0 = a.created;
  await advance(stripe, 100);
  const b = await create(stripe, { amount: 2 });
  assert.equal(b.created, t0 + 100);
  // a was canceled, b settles only at t0 + 105: three events so far.
  const events = await allEvents(stripe);
  assert.deepEqual(typesOf(events), ['topup.created', 'topup.canceled', 'topup.created']);
  const [bCreated, aCanceled, aCreated] = idsOf(events);

  const listed = async (created) => idsOf(await allEvents(stripe, { created }));
  assert.deepEqual(await listed(t0), [aCanceled, aCreated]);
  assert.deepEqual(await listed(t0 + 100), [bCreated]);
  assert.deepEqual(await listed({ gte: t0 + 100 }), [bCreated]);
  assert.deepEqual(await listed({ gt: t0 }), [bCreated]);
  assert.deepEqual(await listed({ lt: t0 + 100 }), [aCanceled, aCreated]);
  assert.deepEqual(await listed({ lte: t0 }), [aCanceled, aCreated]);
  assert.deepEqual(await listed({ gte: t0, lte: t0 + 100 }), [bCreated, aCanceled, aCreated]);
  assert.deepEqual(await listed({ gt: t0, lt: t0 + 100 }), []);
  assert.deepEqual(await listed({ gt: t0 + 100 }), []);
});

test('delivery_success', async () => {
  const stripe = h.stripe();
  const tu = await create(stripe);
  await stripe.topups.cancel(tu.id);
  const everything = idsOf(await allEvents(stripe));
  assert.equal(everything.length, 2);

  // No webhook endpoint waits for anything: every event counts as delivered.
  assert.deepEqual(idsOf(await allEvents(stripe, { delivery_success: true })), everything);
  assert.deepEqual(await allEvents(stripe, { delivery_success: false }), []);
});

// -- connected accounts ----------------------------------------------------------------

test('a connected account\'s events name the account', async () => {
  const server = await h.startServer();
  const key = randomKey();
  const acct = `acct_1EventsTest${randomKey('').slice(0, 8)}`;
  const connected = h.stripe({ server, key, stripeAccount: acct });
  const platform = h.stripe({ server, key });

  const tu = await create(connected, { amount: 900 });
  assert.equal(header(h.recorder.last.requestHeaders, 'Stripe-Account'), acct);
  await advance(connected, SETTLE_AFTER);

  const events = await allEvents(connected);
  assert.deepEqual(typesOf(events), ['balance.available', 'topup.succeeded', 'topup.created']);
  for (const evt of events) assert.equal(evt.account, acct);
  assert.equal(events[2].request.id, tu.lastResponse.requestId);
  assert.equal((await connected.events.retrieve(events[0].id)).account, acct);

  // The platform's own log holds none of them, and its events name no account.
  assert.deepEqual(await allEvents(platform), []);
  const own = await create(platform, { amount: 5 });
  const ownEvents = await allEvents(platform);
  assert.equal(ownEvents.length, 1);
  assert.equal(ownEvents[0].data.object.id, own.id);
  assert.ok(!('account' in ownEvents[0]));

  // The per-request option works the same way.
  const perRequest = await allEvents(platform, {}, { stripeAccount: acct });
  assert.deepEqual(idsOf(perRequest), idsOf(events));
});
