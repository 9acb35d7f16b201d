// Signed webhooks through stripe-node: endpoints, delivery, retries.
//
// A local receiver (http.createServer on 127.0.0.1, port 0) plays the
// integration: it records every request's raw body bytes and headers and
// answers with a status the test sets. Every delivery it gets is verified
// with the SDK's own stripe.webhooks.constructEvent, exactly as an
// application would verify it.
//
// What the server does: each event goes to every enabled endpoint of the
// account whose enabled_events match it, as POST with
// `Stripe-Signature: t=<wall clock>,v1=<HMAC-SHA256(secret, "t.body")>`; an
// endpoint gets its deliveries in order. A non-2xx answer, a refused
// connection or a timeout is retried 1 minute, 1 hour and 4 hours later on
// the account's (manual) clock. pending_webhooks counts the endpoints an
// event has not yet reached; GET /v1/events?delivery_success=false lists such
// events. GET /v1/test_helpers/webhook_deliveries lists every attempt, newest
// first; POST /v1/test_helpers/events/{id}/resend sends an event again.
//
// Deliveries are asynchronous: tests wait for them with a bounded polling
// loop (waitUntil), never a fixed sleep. To know that *nothing more* is
// coming, a test waits until no event of the account is pending any more: an
// event that went somewhere it should not have is either still pending or
// already recorded by the receiver.
//
// Every test works on an account of its own (a fresh key, with a clock of its
// own) and talks only to 127.0.0.1.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Harness, Stripe, advance, helper, randomKey, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((rx) => rx.stop()));
  await h.finish();
});

const { StripeInvalidRequestError, StripeSignatureVerificationError } = Stripe.errors;

const SETTLE_AFTER = 5; // the server's default --settle-after, in seconds
const RETRY_AFTER = [60, 3600, 4 * 3600]; // the server's default retry schedule
const SETTLED = ['topup.created', 'topup.succeeded', 'balance.available'];
const USER_AGENT = 'Stripe/1.0 (+https://stripe.com/docs/webhooks)';
const SIGNATURE = /^t=(\d+),v1=([0-9a-f]{64})$/;
const WAIT_TIMEOUT_MS = 10000;
const POLL_INTERVAL_MS = 20;

// ---------------------------------------------------------------------------
// The receiver

const receivers = [];

/** A webhook endpoint on 127.0.0.1: records each request and answers
 * `status` (200 unless a test changes it). With `hang` set it holds every
 * request until the receiver stops. */
class Receiver {
  static async start() {
    const rx = new Receiver();
    await new Promise((resolvePromise, reject) => {
      rx.server.once('error', reject);
      rx.server.listen(0, '127.0.0.1', resolvePromise);
    });
    rx.port = rx.server.address().port;
    receivers.push(rx);
    return rx;
  }

  constructor() {
    this.status = 200;
    this.hang = false;
    this.got = [];
    this.held = [];
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const status = this.status;
        this.got.push({
          method: req.method,
          path: req.url,
          headers: req.headers, // names in lower case
          body: Buffer.concat(chunks),
          answered: status,
        });
        const answer = () => res.writeHead(status, { 'Content-Length': '0' }).end();
        if (this.hang) this.held.push(answer);
        else answer();
      });
    });
  }

  url(path = '/webhooks') {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path) {
    return this.got.filter((r) => r.path === path);
  }

  /** The first `n` requests (to `path`), once they have come. */
  waitFor(n, path = undefined) {
    return waitUntil(() => {
      const got = path === undefined ? this.got : this.at(path);
      return got.length >= n ? got.slice(0, n) : null;
    }, `${n} webhook request(s) to ${path ?? 'the receiver'}`);
  }

  async stop() {
    for (const answer of this.held.splice(0)) answer();
    const closed = new Promise((r) => this.server.close(r));
    this.server.closeAllConnections();
    await closed;
  }
}

/** Polls `check` until it returns something truthy, which it returns; fails
 * after `timeoutMs`. */
async function waitUntil(check, what, timeoutMs = WAIT_TIMEOUT_MS) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() >= deadline) {
      assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

// ---------------------------------------------------------------------------
// Helpers

function create(stripe, params = {}) {
  return stripe.topups.create({ amount: 1000, currency: 'usd', ...params });
}

function addEndpoint(stripe, url, events = ['*'], params = {}) {
  return stripe.webhookEndpoints.create({ url, enabled_events: events, ...params });
}

async function allEvents(stripe, params = {}) {
  const seen = [];
  for await (const e of stripe.events.list(params)) seen.push(e);
  return seen;
}

/** Every delivery attempt of the account's events, newest first. */
async function deliveries(stripe, event = undefined) {
  const query = event ? `?event=${encodeURIComponent(event)}` : '';
  const page = await helper(stripe, 'GET', `/v1/test_helpers/webhook_deliveries${query}`);
  return page.data;
}

/** The attempt log (newest first) once it holds at least `n` attempts. */
function waitForAttempts(stripe, n, event = undefined) {
  return waitUntil(async () => {
    const log = await deliveries(stripe, event);
    return log.length >= n ? log : null;
  }, `${n} delivery attempt(s)`);
}

const pendingIds = async (stripe) => idsOf(await allEvents(stripe, { delivery_success: false }));

/** Every event has reached every endpoint it went to. */
const waitUntilNothingPending = (stripe) =>
  waitUntil(async () => (await pendingIds(stripe)).length === 0, 'no event pending delivery');

const resend = (stripe, id) => helper(stripe, 'POST', `/v1/test_helpers/events/${id}/resend`);

// Webhook verification needs no server: any client's `webhooks` will do.
const stripe0 = new Stripe('sk_test_verify_only');

/** Each delivery as the SDK constructs it, after verifying its signature. */
const verified = (received, secret) =>
  received.map((r) => stripe0.webhooks.constructEvent(r.body, r.headers['stripe-signature'], secret));

const typesOf = (events) => events.map((e) => e.type);
const idsOf = (events) => events.map((e) => e.id);
/** Plain JSON, without the SDK's non-enumerable extras. */
const plain = (o) => JSON.parse(JSON.stringify(o));

/** An attempt without what depends on timing (duration_ms). */
function withoutTiming(attempt) {
  const { duration_ms: _ignored, ...rest } = attempt;
  return rest;
}

/** A port on 127.0.0.1 nothing listens on. */
async function closedPort() {
  const srv = createNetServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

function assertSignatureRejected(fn, message = undefined) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof StripeSignatureVerificationError, `${err?.constructor?.name}: ${err?.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

// ---------------------------------------------------------------------------
// Endpoints

test('endpoint create, retrieve, list, update, delete', async () => {
  const stripe = h.stripe();
  const made = await addEndpoint(stripe, 'http://127.0.0.1:9/hooks', ['topup.succeeded', 'topup.failed'], {
    description: 'payments',
    metadata: { team: 'pay' },
  });
  assert.equal(h.recorder.last.schema, 'POST /v1/webhook_endpoints');
  assert.match(made.id, /^we_/);
  assert.equal(made.object, 'webhook_endpoint');
  assert.equal(made.url, 'http://127.0.0.1:9/hooks');
  assert.deepEqual(made.enabled_events, ['topup.succeeded', 'topup.failed']);
  assert.equal(made.status, 'enabled');
  assert.equal(made.description, 'payments');
  assert.deepEqual(made.metadata, { team: 'pay' });
  assert.equal(made.livemode, false);
  assert.match(made.secret, /^whsec_/);

  // The secret is only in the create's answer.
  const got = await stripe.webhookEndpoints.retrieve(made.id);
  assert.ok(!('secret' in got));
  const { secret: _secret, ...rest } = plain(made);
  assert.deepEqual(plain(got), rest);

  const other = await addEndpoint(stripe, 'http://127.0.0.1:9/other');
  assert.match(other.secret, /^whsec_/);
  assert.notEqual(other.secret, made.secret);
  const listed = [];
  for await (const e of stripe.webhookEndpoints.list()) listed.push(e);
  assert.deepEqual(idsOf(listed).sort(), [made.id, other.id].sort());
  assert.ok(listed.every((e) => !('secret' in e)));

  const updated = await stripe.webhookEndpoints.update(made.id, {
    url: 'http://127.0.0.1:9/v2/hooks',
    enabled_events: ['*'],
    disabled: true,
    description: 'all of it',
    metadata: { team: '', owner: 'ops' },
  });
  assert.equal(updated.url, 'http://127.0.0.1:9/v2/hooks');
  assert.deepEqual(updated.enabled_events, ['*']);
  assert.equal(updated.status, 'disabled');
  assert.equal(updated.description, 'all of it');
  assert.deepEqual(updated.metadata, { owner: 'ops' });
  assert.ok(!('secret' in updated));
  assert.equal((await stripe.webhookEndpoints.update(made.id, { disabled: false })).status, 'enabled');

  const deleted = await stripe.webhookEndpoints.del(made.id);
  assert.equal(deleted.id, made.id);
  assert.equal(deleted.deleted, true);
  const err = await rejects(stripe.webhookEndpoints.retrieve(made.id));
  assert.ok(err instanceof StripeInvalidRequestError, err.message);
  assert.equal(err.statusCode, 404);
  assert.deepEqual(idsOf((await stripe.webhookEndpoints.list()).data), [other.id]);
});

test('endpoints are per account', async () => {
  const a = h.stripe();
  const b = h.stripe();
  const made = await addEndpoint(a, 'http://127.0.0.1:9/a');
  assert.deepEqual((await b.webhookEndpoints.list()).data, []);
  const err = await rejects(b.webhookEndpoints.retrieve(made.id));
  assert.ok(err instanceof StripeInvalidRequestError, err.message);
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, 'resource_missing');
});

for (const [name, params, param] of [
  ['bad scheme', { url: 'ftp://127.0.0.1/hooks', enabled_events: ['*'] }, 'url'],
  [
    'unknown event type',
    { url: 'http://127.0.0.1:9/hooks', enabled_events: ['topup.nonsense'] },
    'enabled_events[0]',
  ],
  ['no enabled_events', { url: 'http://127.0.0.1:9/hooks' }, 'enabled_events'],
]) {
  test(`an invalid endpoint is refused (${name})`, async () => {
    const stripe = h.stripe();
    const err = await rejects(stripe.webhookEndpoints.create(params));
    assert.ok(err instanceof StripeInvalidRequestError, `${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.statusCode, 400);
    assert.equal(err.rawType, 'invalid_request_error');
    assert.equal(err.param, param);
    assert.equal(h.recorder.last.schema, 'error');
    assert.deepEqual((await stripe.webhookEndpoints.list()).data, []);
  });
}

// ---------------------------------------------------------------------------
// Signed delivery

test('every delivery is signed and verifies with the SDK', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const ep = await addEndpoint(stripe, rx.url());
  const tu = await create(stripe, { amount: 4200, metadata: { order: '42' } });

  // The first delivery, before the clock moves.
  const [first] = await waitForAttempts(stripe, 1);
  assert.equal(h.recorder.last.schema, 'list', 'each item checked by its own schema');
  assert.deepEqual(withoutTiming(first), {
    object: 'test_helpers.webhook_delivery',
    event: (await allEvents(stripe))[0].id,
    endpoint: ep.id,
    url: rx.url(),
    attempt: 1,
    status: 200,
    error: null,
    response: null,
    succeeded: true,
    created: tu.created,
    next_attempt: null,
  });

  await advance(stripe, SETTLE_AFTER);
  const got = await rx.waitFor(3);
  await waitUntilNothingPending(stripe);
  assert.equal(rx.got.length, 3, 'one request per event');

  const events = verified(got, ep.secret);
  assert.deepEqual(typesOf(events), SETTLED, 'in the order they happened');
  const [created, succeeded, available] = events;
  assert.equal(created.data.object.id, tu.id);
  assert.equal(succeeded.data.object.id, tu.id);
  assert.equal(created.data.object.status, 'pending');
  assert.equal(succeeded.data.object.status, 'succeeded');
  assert.deepEqual(succeeded.data.object.metadata, { order: '42' });
  assert.equal(available.data.object.object, 'balance');

  // The async variant agrees.
  for (const r of got) {
    const evt = await stripe0.webhooks.constructEventAsync(r.body, r.headers['stripe-signature'], ep.secret);
    assert.equal(evt.id, JSON.parse(r.body).id);
  }

  // They are the account's events, oldest first (the list is newest first).
  const listed = await allEvents(stripe);
  assert.deepEqual(idsOf(events), idsOf(listed).toReversed());
  listed.toReversed().forEach((evt, i) => {
    const { pending_webhooks: _sentPending, ...sent } = JSON.parse(got[i].body);
    const { pending_webhooks: storedPending, ...stored } = plain(evt);
    assert.equal(storedPending, 0, 'delivered');
    assert.deepEqual(sent, stored);
  });

  for (const r of got) {
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/webhooks');
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.headers['user-agent'], USER_AGENT);
    const sig = r.headers['stripe-signature'];
    const m = SIGNATURE.exec(sig);
    assert.ok(m, sig);
    const t = Number(m[1]);
    // The wall clock (what the SDK compares it with), not the account's.
    assert.ok(Math.abs(t - Date.now() / 1000) < 60, `t=${t}`);
    // v1 is HMAC-SHA256(secret, "t.body"), as the SDK signs a test header.
    assert.equal(
      sig,
      stripe0.webhooks.generateTestHeaderString({ payload: r.body.toString('utf8'), secret: ep.secret, timestamp: t }),
    );
  }

  const log = await waitForAttempts(stripe, 3);
  assert.deepEqual(log.map((d) => d.event), idsOf(listed), 'newest first');
  for (const d of log) {
    assert.deepEqual([d.endpoint, d.url, d.attempt, d.status, d.error], [ep.id, rx.url(), 1, 200, null]);
    assert.equal(d.succeeded, true);
    assert.equal(d.next_attempt, null);
  }
  assert.deepEqual(
    log.map((d) => d.created),
    [tu.created + SETTLE_AFTER, tu.created + SETTLE_AFTER, tu.created],
  );
  assert.deepEqual((await deliveries(stripe, listed[1].id)).map((d) => d.event), [listed[1].id]);
});

test('tampering, a wrong secret and an old timestamp are rejected', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const ep = await addEndpoint(stripe, rx.url());
  const other = await addEndpoint(stripe, rx.url('/other'), ['topup.failed']);
  await create(stripe, { amount: 1000 });
  const [got] = await rx.waitFor(1);
  const body = got.body;
  const header = got.headers['stripe-signature'];

  // The untouched delivery verifies.
  assert.equal(stripe0.webhooks.constructEvent(body, header, ep.secret).type, 'topup.created');

  // A tampered body.
  const tampered = Buffer.from(body.toString('utf8').replace('"amount":1000', '"amount":9999'));
  assert.ok(!tampered.equals(body));
  assertSignatureRejected(() => stripe0.webhooks.constructEvent(tampered, header, ep.secret));

  // Another endpoint's secret, or a made-up one.
  assert.notEqual(other.secret, ep.secret);
  for (const secret of [other.secret, `whsec_${randomKey('')}`]) {
    assertSignatureRejected(() => stripe0.webhooks.constructEvent(body, header, secret));
  }

  // t= rewritten to more than 300 s (the SDK's tolerance) ago, v1 kept.
  const t = Number(SIGNATURE.exec(header)[1]);
  const old = header.replace(/^t=\d+/, `t=${t - 301}`);
  assert.notEqual(old, header);
  assert.ok(old.endsWith(header.split(',')[1]));
  assertSignatureRejected(() => stripe0.webhooks.constructEvent(body, old, ep.secret));
  // Even correctly signed, that old a timestamp is refused.
  const resigned = stripe0.webhooks.generateTestHeaderString({
    payload: body.toString('utf8'),
    secret: ep.secret,
    timestamp: t - 301,
  });
  assertSignatureRejected(() => stripe0.webhooks.constructEvent(body, resigned, ep.secret), /tolerance/);
});

test('an endpoint\'s api_version renders its events', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const ep = await addEndpoint(stripe, rx.url(), ['topup.created'], { api_version: '2024-06-20' });
  assert.equal(ep.api_version, '2024-06-20');
  await create(stripe);
  const [evt] = verified(await rx.waitFor(1), ep.secret);
  assert.equal(evt.api_version, '2024-06-20');
  assert.equal(evt.type, 'topup.created');
});

// ---------------------------------------------------------------------------
// Retries

test('a failing endpoint is retried on the clock', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  rx.status = 500;
  const ep = await addEndpoint(stripe, rx.url(), ['topup.created']);
  const tu = await create(stripe);
  const t0 = tu.created;
  const [evt] = await allEvents(stripe);
  assert.equal(evt.pending_webhooks, 1);

  const expected = (attempt, created, nextAttempt) => ({
    object: 'test_helpers.webhook_delivery',
    event: evt.id,
    endpoint: ep.id,
    url: rx.url(),
    attempt,
    status: 500,
    error: null,
    response: null,
    succeeded: false,
    created,
    next_attempt: nextAttempt,
  });

  let log = await waitForAttempts(stripe, 1);
  assert.deepEqual(log.map(withoutTiming), [expected(1, t0, t0 + 60)]);

  // Not a second early: 59 s, then the 60th.
  await advance(stripe, RETRY_AFTER[0] - 1);
  await advance(stripe, 1);
  const t1 = t0 + RETRY_AFTER[0];
  log = await waitForAttempts(stripe, 2);
  assert.deepEqual(withoutTiming(log[0]), expected(2, t1, t1 + RETRY_AFTER[1]));

  await advance(stripe, RETRY_AFTER[1]);
  const t2 = t1 + RETRY_AFTER[1];
  log = await waitForAttempts(stripe, 3);
  assert.deepEqual(withoutTiming(log[0]), expected(3, t2, t2 + RETRY_AFTER[2]));

  await advance(stripe, RETRY_AFTER[2]);
  const t3 = t2 + RETRY_AFTER[2];
  log = await waitForAttempts(stripe, 4);
  assert.deepEqual(log.map(withoutTiming), [
    expected(4, t3, null), // the third retry is the last
    expected(3, t2, t3),
    expected(2, t1, t2),
    expected(1, t0, t1),
  ]);

  // Still undelivered.
  assert.equal((await stripe.events.retrieve(evt.id)).pending_webhooks, 1);
  assert.deepEqual(await pendingIds(stripe), [evt.id]);
  assert.ok(!idsOf(await allEvents(stripe, { delivery_success: true })).includes(evt.id));

  // Each attempt was signed afresh with the wall clock (the account's clock is
  // now hours ahead of it), and each verifies.
  const got = await rx.waitFor(4);
  assert.deepEqual(idsOf(verified(got, ep.secret)), Array(4).fill(evt.id));
  assert.ok(got.every((r) => r.answered === 500));

  // No fifth attempt, however long one waits: a later event to the same
  // endpoint (delivered in order, after anything queued before it) is the
  // next thing it gets.
  await advance(stripe, 7 * 24 * 3600);
  const later = await create(stripe);
  log = await waitForAttempts(stripe, 5);
  assert.equal(log.length, 5);
  assert.notEqual(log[0].event, evt.id);
  assert.equal(log[0].attempt, 1);
  const [fifth] = verified((await rx.waitFor(5)).slice(4), ep.secret);
  assert.equal(fifth.data.object.id, later.id);
});

test('resend delivers again', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  rx.status = 500;
  const ep = await addEndpoint(stripe, rx.url(), ['topup.created']);
  await create(stripe);
  const [evt] = await allEvents(stripe);
  await waitForAttempts(stripe, 1);
  assert.deepEqual(await pendingIds(stripe), [evt.id]);

  rx.status = 200;
  const again = await resend(stripe, evt.id);
  assert.equal(again.object, 'event');
  assert.equal(again.id, evt.id);
  await waitUntilNothingPending(stripe);

  const log = await waitForAttempts(stripe, 2, evt.id);
  assert.deepEqual(log.map((d) => [d.status, d.succeeded]), [[200, true], [500, false]]);
  assert.deepEqual(idsOf(verified(rx.got, ep.secret)), [evt.id, evt.id]);
  assert.equal((await stripe.events.retrieve(evt.id)).pending_webhooks, 0);
  assert.deepEqual(idsOf(await allEvents(stripe, { delivery_success: true })), [evt.id]);

  const err = await rejects(resend(stripe, 'evt_doesnotexist'));
  assert.ok(err instanceof StripeInvalidRequestError, err.message);
  assert.equal(err.statusCode, 404);
});

test('pending_webhooks counts the endpoints not yet reached', async () => {
  // Two endpoints, one of them unreachable: the event stays pending for that
  // one, however often a resend reaches the other.
  const stripe = h.stripe();
  const rx = await Receiver.start();
  rx.status = 500;
  const ok = await addEndpoint(stripe, rx.url('/ok'), ['topup.created']);
  const down = await addEndpoint(stripe, `http://127.0.0.1:${await closedPort()}/down`, ['topup.created']);
  await create(stripe);
  const [evt] = await allEvents(stripe);
  assert.equal(evt.pending_webhooks, 2);
  const log = await waitForAttempts(stripe, 2);
  assert.deepEqual(
    log.map((d) => [d.endpoint, d.succeeded]).sort(),
    [[ok.id, false], [down.id, false]].sort(),
  );
  assert.equal((await stripe.events.retrieve(evt.id)).pending_webhooks, 2);

  const pending = async () => (await stripe.events.retrieve(evt.id)).pending_webhooks;

  // The healthy endpoint answers now: one endpoint reached, one not.
  rx.status = 200;
  await resend(stripe, evt.id);
  await rx.waitFor(2, '/ok');
  await waitUntil(async () => (await pending()) === 1, 'pending_webhooks 1');
  const attempts = await waitForAttempts(stripe, 4);
  assert.deepEqual(
    attempts.slice(0, 2).map((d) => [d.endpoint, d.succeeded]).sort(),
    [[ok.id, true], [down.id, false]].sort(),
  );
  assert.deepEqual(await pendingIds(stripe), [evt.id]);

  // Reaching the same endpoint again reaches no other. (The next event to that
  // endpoint, delivered after the resend, shows its outcome is in.)
  await resend(stripe, evt.id);
  await rx.waitFor(3, '/ok');
  await create(stripe);
  await rx.waitFor(4, '/ok');
  assert.equal(await pending(), 1, 'the unreachable endpoint has still not got it');
  assert.ok((await pendingIds(stripe)).includes(evt.id));
});

test('unreachable endpoints are failed attempts', async () => {
  const stripe = h.stripe();
  const url = `http://127.0.0.1:${await closedPort()}/nobody`;
  const ep = await addEndpoint(stripe, url, ['topup.created']);
  const tu = await create(stripe);
  const [evt] = await allEvents(stripe);

  const [attempt] = await waitForAttempts(stripe, 1);
  assert.equal(attempt.endpoint, ep.id);
  assert.equal(attempt.url, url);
  assert.equal(attempt.event, evt.id);
  assert.equal(attempt.attempt, 1);
  assert.equal(attempt.status, null);
  assert.ok(typeof attempt.error === 'string' && attempt.error.length > 0, attempt.error);
  assert.equal(attempt.succeeded, false);
  assert.equal(attempt.next_attempt, tu.created + RETRY_AFTER[0]);
  assert.deepEqual(await pendingIds(stripe), [evt.id]);
});

test('a slow endpoint times out and is retried', async () => {
  const server = await h.startServer('--webhook-timeout', '300ms');
  const stripe = h.stripe({ server });
  const rx = await Receiver.start();
  rx.hang = true;
  const ep = await addEndpoint(stripe, rx.url(), ['topup.created']);
  const tu = await create(stripe);

  const [attempt] = await waitForAttempts(stripe, 1);
  assert.equal(attempt.endpoint, ep.id);
  assert.equal(attempt.status, null);
  assert.ok(typeof attempt.error === 'string' && attempt.error.length > 0, attempt.error);
  assert.equal(attempt.succeeded, false);
  assert.equal(attempt.next_attempt, tu.created + RETRY_AFTER[0]);
  assert.equal(rx.got.length, 1, 'it was sent, and not answered in time');

  rx.hang = false;
  await advance(stripe, RETRY_AFTER[0]);
  const log = await waitForAttempts(stripe, 2);
  assert.deepEqual([log[0].attempt, log[0].status, log[0].succeeded], [2, 200, true]);
  await waitUntilNothingPending(stripe);
});

// ---------------------------------------------------------------------------
// Which endpoints get what

test('enabled_events pick what an endpoint gets', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const everything = await addEndpoint(stripe, rx.url('/all'), ['*']);
  const succeeded = await addEndpoint(stripe, rx.url('/succeeded'), ['topup.succeeded']);
  const tu = await create(stripe);
  await advance(stripe, SETTLE_AFTER);
  await rx.waitFor(3, '/all');
  await rx.waitFor(1, '/succeeded');
  await waitUntilNothingPending(stripe);

  assert.deepEqual(typesOf(verified(rx.at('/all'), everything.secret)), SETTLED);
  const only = verified(rx.at('/succeeded'), succeeded.secret);
  assert.deepEqual(typesOf(only), ['topup.succeeded']);
  assert.equal(only[0].data.object.id, tu.id);
  assert.equal(rx.got.length, 4);
  assert.deepEqual(
    (await waitForAttempts(stripe, 4)).map((d) => d.endpoint).sort(),
    [everything.id, everything.id, everything.id, succeeded.id].sort(),
  );
});

test('a disabled endpoint gets nothing', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const on = await addEndpoint(stripe, rx.url('/on'));
  const off = await addEndpoint(stripe, rx.url('/off'));
  assert.equal((await stripe.webhookEndpoints.update(off.id, { disabled: true })).status, 'disabled');

  const first = await create(stripe);
  await advance(stripe, SETTLE_AFTER);
  await rx.waitFor(3, '/on');
  await waitUntilNothingPending(stripe);
  assert.deepEqual(rx.at('/off'), []);
  assert.ok((await waitForAttempts(stripe, 3)).every((d) => d.endpoint === on.id));
  assert.deepEqual(typesOf(verified(rx.at('/on'), on.secret)), SETTLED);

  // Enabled again, it gets what happens from then on, and nothing older.
  assert.equal((await stripe.webhookEndpoints.update(off.id, { disabled: false })).status, 'enabled');
  const second = await create(stripe);
  await rx.waitFor(1, '/off');
  await waitUntilNothingPending(stripe);
  const [evt] = verified(rx.at('/off'), off.secret);
  assert.equal(rx.at('/off').length, 1);
  assert.equal(evt.type, 'topup.created');
  assert.equal(evt.data.object.id, second.id);
  assert.notEqual(second.id, first.id);
});

test('a deleted endpoint gets nothing', async () => {
  const stripe = h.stripe();
  const rx = await Receiver.start();
  const keep = await addEndpoint(stripe, rx.url('/keep'), ['topup.created']);
  const gone = await addEndpoint(stripe, rx.url('/gone'), ['topup.created']);
  await stripe.webhookEndpoints.del(gone.id);
  await create(stripe);
  await rx.waitFor(1, '/keep');
  await waitUntilNothingPending(stripe);
  assert.deepEqual(rx.at('/gone'), []);
  assert.deepEqual((await waitForAttempts(stripe, 1)).map((d) => d.endpoint), [keep.id]);
});

test('connect endpoints get connected accounts\' events', async () => {
  const key = randomKey();
  const acct = `acct_1Webhooks${randomKey('').slice(0, 8)}`;
  const platform = h.stripe({ key });
  const connected = h.stripe({ key, stripeAccount: acct });
  const rx = await Receiver.start();
  const connect = await addEndpoint(platform, rx.url('/connect'), ['topup.created'], { connect: true });
  const own = await addEndpoint(platform, rx.url('/own'), ['topup.created']);

  const tu = await create(connected, { amount: 900 });
  const [got] = await rx.waitFor(1, '/connect');
  await waitUntilNothingPending(connected);
  const [evt] = verified([got], connect.secret);
  assert.equal(evt.type, 'topup.created');
  assert.equal(evt.account, acct);
  assert.equal(evt.data.object.id, tu.id);
  assert.deepEqual(rx.at('/own'), [], 'an account endpoint gets only its own account\'s events');
  assert.ok(!(await deliveries(connected)).map((d) => d.endpoint).includes(own.id));
});
