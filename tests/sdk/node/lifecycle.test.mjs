// Settlement, Stripe's test bank tokens, the manual clock, the top-up test
// helpers and the metadata controls (mock_outcome, mock_settle_after).

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, advance, clock, helper, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const { StripeInvalidRequestError } = Stripe.errors;

const FAILING_TOKENS = {
  btok_us_verified_noAccount: 'no_account',
  btok_us_verified_accountClosed: 'account_closed',
  btok_us_verified_insufficientFunds: 'insufficient_funds',
  btok_us_verified_debitNotAuthorized: 'debit_not_authorized',
  btok_us_verified_invalidCurrency: 'invalid_currency',
};

/** A client on a server whose top-ups are due as soon as they exist. */
async function settleNow() {
  const server = await h.startServer('--settle-after', '0s');
  return h.stripe({ server });
}

/** A client on a dedicated manual-clock server (5 s settlement). */
async function clocked() {
  const server = await h.startServer('--settle-after', '5s');
  return h.stripe({ server });
}

// -- settlement, observable through --settle-after 0s -------------------------

for (const source of [undefined, 'btok_us_verified']) {
  test(`verified source succeeds (${source ?? 'no source'})`, async () => {
    const stripe = await settleNow();
    const tu = await stripe.topups.create({ amount: 2500, currency: 'usd', ...(source && { source }) });
    assert.equal(tu.status, 'pending', 'create always answers pending');
    const got = await stripe.topups.retrieve(tu.id);
    assert.equal(got.status, 'succeeded');
    assert.equal(got.failure_code, null);
    assert.equal(got.failure_message, null);
    assert.match(got.balance_transaction, /^txn_/);
  });
}

for (const [token, code] of Object.entries(FAILING_TOKENS)) {
  test(`failing test token ${token}`, async () => {
    const stripe = await settleNow();
    const tu = await stripe.topups.create({ amount: 1000, currency: 'usd', source: token });
    assert.equal(tu.status, 'pending');
    assert.equal(tu.failure_code, null, 'a failing token never fails the create');
    const got = await stripe.topups.retrieve(tu.id);
    assert.equal(got.status, 'failed');
    assert.equal(got.failure_code, code);
    assert.ok(typeof got.failure_message === 'string' && got.failure_message.length > 0);
    assert.equal(got.balance_transaction, null);
  });
}

test('list shows settled statuses', async () => {
  const stripe = await settleNow();
  const ok = await stripe.topups.create({ amount: 1, currency: 'usd' });
  const bad = await stripe.topups.create({ amount: 2, currency: 'usd', source: 'btok_us_verified_accountClosed' });
  const listed = new Map((await stripe.topups.list()).data.map((x) => [x.id, x]));
  assert.equal(listed.get(ok.id).status, 'succeeded');
  assert.equal(listed.get(bad.id).status, 'failed');
  assert.equal(listed.get(bad.id).failure_code, 'account_closed');
  assert.deepEqual((await stripe.topups.list({ status: 'failed' })).data.map((x) => x.id), [bad.id]);
  assert.deepEqual((await stripe.topups.list({ status: 'succeeded' })).data.map((x) => x.id), [ok.id]);
});

test('settled top-ups keep their metadata and can be updated', async () => {
  const stripe = await settleNow();
  const tu = await stripe.topups.create({ amount: 3, currency: 'usd', metadata: { a: '1' } });
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
  const updated = await stripe.topups.update(tu.id, { metadata: { b: '2' }, description: 'late' });
  assert.equal(updated.status, 'succeeded');
  assert.deepEqual(updated.metadata, { a: '1', b: '2' });
  assert.equal(updated.description, 'late');
});

// -- the manual clock ----------------------------------------------------------

test('clock reads and advances', async () => {
  const stripe = await clocked();
  const c = await clock(stripe);
  assert.equal(c.object, 'test_helpers.mock_clock');
  assert.equal(c.mode, 'manual');
  assert.equal(c.now, Math.floor(c.now_ms / 1000));
  assert.equal((await clock(stripe)).now_ms, c.now_ms, 'a manual clock stands still');

  const moved = await advance(stripe, 90);
  assert.equal(moved.object, 'test_helpers.mock_clock');
  assert.equal(moved.now_ms, c.now_ms + 90_000);
  assert.equal(moved.now, c.now + 90);
  assert.equal(moved.fired, 0);

  const tu = await stripe.topups.create({ amount: 1, currency: 'usd' });
  assert.equal(tu.created, moved.now);
});

test('a pending top-up settles when the clock passes its due time', async () => {
  const stripe = await clocked();
  const tu = await stripe.topups.create({ amount: 4200, currency: 'usd' });
  assert.equal((await advance(stripe, 4)).fired, 0);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'pending');
  assert.equal((await advance(stripe, 1)).fired, 1);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
  assert.equal((await advance(stripe, 60)).fired, 0);
});

test('a clock advance fires every due transition', async () => {
  const stripe = await clocked();
  const expected = new Map();
  for (const [token, code] of Object.entries(FAILING_TOKENS)) {
    expected.set((await stripe.topups.create({ amount: 10, currency: 'usd', source: token })).id, code);
  }
  const ok = await stripe.topups.create({ amount: 10, currency: 'usd', source: 'btok_us_verified' });
  const canceled = await stripe.topups.create({ amount: 10, currency: 'usd' });
  await stripe.topups.cancel(canceled.id);

  assert.equal((await advance(stripe, 5)).fired, Object.keys(FAILING_TOKENS).length + 1);

  for (const [id, code] of expected) {
    const got = await stripe.topups.retrieve(id);
    assert.deepEqual([got.status, got.failure_code], ['failed', code]);
  }
  assert.equal((await stripe.topups.retrieve(ok.id)).status, 'succeeded');
  assert.equal((await stripe.topups.retrieve(canceled.id)).status, 'canceled');
});

test('cannot cancel once settled by the clock', async () => {
  const stripe = await clocked();
  const tu = await stripe.topups.create({ amount: 10, currency: 'usd' });
  await advance(stripe, 5);
  const err = await rejects(stripe.topups.cancel(tu.id));
  assert.ok(err instanceof StripeInvalidRequestError);
  assert.ok(err.message.includes('has a status of succeeded'));
});

test('advance refuses bad seconds', async () => {
  const stripe = await clocked();
  for (const bad of ['-1', 'abc']) {
    const err = await rejects(advance(stripe, bad));
    assert.ok(err instanceof StripeInvalidRequestError, err.message);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'seconds');
  }
});

// -- test helpers ----------------------------------------------------------------

const topupHelper = (stripe, id, action, params) =>
  helper(stripe, 'POST', `/v1/test_helpers/topups/${id}/${action}`, params);

test('helper: succeed', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 700, currency: 'usd' });
  const done = await topupHelper(stripe, tu.id, 'succeed');
  assert.equal(done.object, 'topup');
  assert.equal(done.id, tu.id);
  assert.equal(done.status, 'succeeded');
  assert.match(done.balance_transaction, /^txn_/);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'succeeded');
});

test('helper: fail with and without a code', async () => {
  const stripe = h.stripe();
  const a = await stripe.topups.create({ amount: 1, currency: 'usd' });
  const b = await stripe.topups.create({ amount: 2, currency: 'usd' });
  const failed = await topupHelper(stripe, a.id, 'fail', { failure_code: 'insufficient_funds' });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failure_code, 'insufficient_funds');
  assert.ok(failed.failure_message);
  const dflt = await topupHelper(stripe, b.id, 'fail');
  assert.equal(dflt.status, 'failed');
  assert.ok(dflt.failure_code);
  assert.ok(dflt.failure_message);
  assert.equal(dflt.balance_transaction, null);
});

test('helper: reverse', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 1, currency: 'usd' });
  await topupHelper(stripe, tu.id, 'succeed');
  const reversed = await topupHelper(stripe, tu.id, 'reverse');
  assert.equal(reversed.status, 'reversed');
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'reversed');
  assert.deepEqual((await stripe.topups.list()).data.map((x) => x.status), ['reversed']);
});

for (const [setup, action] of [
  ['pending', 'reverse'],
  ['canceled', 'succeed'],
  ['canceled', 'fail'],
  ['succeeded', 'fail'],
]) {
  test(`helper refuses ${action} on a ${setup} top-up`, async () => {
    const stripe = h.stripe();
    const tu = await stripe.topups.create({ amount: 1, currency: 'usd' });
    if (setup === 'canceled') await stripe.topups.cancel(tu.id);
    if (setup === 'succeeded') await topupHelper(stripe, tu.id, 'succeed');
    const err = await rejects(topupHelper(stripe, tu.id, action));
    assert.ok(err instanceof StripeInvalidRequestError, err.message);
    assert.equal(err.statusCode, 400);
    assert.equal((await stripe.topups.retrieve(tu.id)).status, setup);
  });
}

test('helper on an unknown top-up is 404', async () => {
  const stripe = h.stripe();
  const err = await rejects(topupHelper(stripe, 'tu_doesnotexist', 'succeed'));
  assert.ok(err instanceof StripeInvalidRequestError);
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, 'resource_missing');
});

test('reset clears only the calling account', async () => {
  const mine = h.stripe();
  const other = h.stripe();
  for (let i = 0; i < 3; i++) await mine.topups.create({ amount: 1, currency: 'usd' });
  const kept = await other.topups.create({ amount: 1, currency: 'usd' });
  await helper(mine, 'POST', '/v1/test_helpers/reset');
  assert.deepEqual((await mine.topups.list()).data, []);
  assert.deepEqual((await other.topups.list()).data.map((x) => x.id), [kept.id]);
  const again = await mine.topups.create({ amount: 9, currency: 'usd' });
  assert.deepEqual((await mine.topups.list()).data.map((x) => x.id), [again.id]);
});

// -- metadata controls ---------------------------------------------------------------

for (const outcome of ['failed', 'succeeded', 'canceled']) {
  test(`metadata[mock_outcome]=${outcome}`, async () => {
    const stripe = await settleNow();
    const tu = await stripe.topups.create({
      amount: 50,
      currency: 'usd',
      // The metadata control overrides the token's own outcome.
      source: outcome === 'succeeded' ? 'btok_us_verified_noAccount' : 'btok_us_verified',
      metadata: { mock_outcome: outcome },
    });
    assert.equal(tu.status, 'pending');
    const got = await stripe.topups.retrieve(tu.id);
    assert.equal(got.status, outcome);
    if (outcome === 'failed') {
      assert.ok(got.failure_code && got.failure_message);
    } else {
      assert.equal(got.failure_code, null);
    }
  });
}

test('metadata[mock_settle_after]', async () => {
  const stripe = await clocked();
  const slow = await stripe.topups.create({ amount: 50, currency: 'usd', metadata: { mock_settle_after: '30s' } });
  const normal = await stripe.topups.create({ amount: 50, currency: 'usd' });
  await advance(stripe, 10);
  assert.equal((await stripe.topups.retrieve(normal.id)).status, 'succeeded');
  assert.equal((await stripe.topups.retrieve(slow.id)).status, 'pending');
  assert.equal((await advance(stripe, 20)).fired, 1);
  assert.equal((await stripe.topups.retrieve(slow.id)).status, 'succeeded');
});

test('mock_outcome and mock_settle_after together', async () => {
  const stripe = await clocked();
  const tu = await stripe.topups.create({
    amount: 50, currency: 'usd', metadata: { mock_outcome: 'failed', mock_settle_after: '1m' },
  });
  await advance(stripe, 59);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'pending');
  await advance(stripe, 1);
  assert.equal((await stripe.topups.retrieve(tu.id)).status, 'failed');
});

for (const [key, value] of [['mock_outcome', 'bogus'], ['mock_settle_after', 'soon']]) {
  test(`bad metadata[${key}] is refused`, async () => {
    const stripe = h.stripe();
    const err = await rejects(stripe.topups.create({ amount: 1, currency: 'usd', metadata: { [key]: value } }));
    assert.ok(err instanceof StripeInvalidRequestError, err.message);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, `metadata[${key}]`);
    assert.ok(err.message.includes(value));
    assert.deepEqual((await stripe.topups.list()).data, []);
  });
}
