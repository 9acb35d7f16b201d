// The balance, balance transactions, and expand[]=balance_transaction.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, helper, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

/** Available plus pending, in cents, for usd. */
function usdTotal(balance) {
  let total = 0;
  for (const entry of [...balance.available, ...balance.pending]) {
    if (entry.currency === 'usd') total += entry.amount;
  }
  return total;
}

/** A server whose top-ups are due at once (they settle when read). */
async function settleServer() {
  return h.startServer('--settle-after', '0s');
}

async function settled(stripe, amount, params = {}) {
  const tu = await stripe.topups.create({ amount, currency: 'usd', ...params });
  return stripe.topups.retrieve(tu.id);
}

test('balance shape', async () => {
  const bal = await h.stripe().balance.retrieve();
  assert.equal(bal.object, 'balance');
  assert.equal(bal.livemode, false);
  assert.ok(Array.isArray(bal.available) && Array.isArray(bal.pending));
});

test('succeeded top-ups credit the balance', async () => {
  const server = await settleServer();
  const stripe = h.stripe({ server });
  assert.equal(usdTotal(await stripe.balance.retrieve()), 0);
  assert.equal((await settled(stripe, 1200)).status, 'succeeded');
  assert.equal(usdTotal(await stripe.balance.retrieve()), 1200);
  const bad = await settled(stripe, 999, { source: 'btok_us_verified_insufficientFunds' });
  assert.equal(bad.status, 'failed');
  assert.equal(usdTotal(await stripe.balance.retrieve()), 1200);
  await settled(stripe, 300);
  assert.equal(usdTotal(await stripe.balance.retrieve()), 1500);
});

test('canceled top-ups do not credit the balance', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 5000, currency: 'usd' });
  await stripe.topups.cancel(tu.id);
  assert.equal(usdTotal(await stripe.balance.retrieve()), 0);
});

test('the balance is per account', async () => {
  const server = await settleServer();
  const a = h.stripe({ server });
  const b = h.stripe({ server });
  await settled(a, 700);
  assert.equal(usdTotal(await a.balance.retrieve()), 700);
  assert.equal(usdTotal(await b.balance.retrieve()), 0);
});

test('a top-up balance transaction', async () => {
  const server = await settleServer();
  const stripe = h.stripe({ server });
  const tu = await settled(stripe, 4321, { description: 'funds' });
  const txnId = tu.balance_transaction;
  assert.match(txnId, /^txn_/);

  const txn = await stripe.balanceTransactions.retrieve(txnId);
  assert.equal(txn.object, 'balance_transaction');
  assert.equal(txn.id, txnId);
  assert.equal(txn.type, 'topup');
  assert.equal(txn.reporting_category, 'topup');
  assert.equal(txn.amount, 4321);
  assert.equal(txn.fee, 0);
  assert.equal(txn.net, 4321);
  assert.equal(txn.currency, 'usd');
  assert.equal(txn.source, tu.id);
  assert.deepEqual(txn.fee_details, []);
  assert.ok(['pending', 'available'].includes(txn.status));

  const expanded = await stripe.topups.retrieve(tu.id, { expand: ['balance_transaction'] });
  assert.deepEqual({ ...expanded.balance_transaction }, { ...txn });
  const listed = await stripe.topups.list({ expand: ['data.balance_transaction'] });
  assert.equal(listed.data[0].balance_transaction.id, txnId);
});

test('balance transactions list and auto-paging', async () => {
  const server = await settleServer();
  const stripe = h.stripe({ server });
  const ids = [];
  for (let i = 0; i < 7; i++) ids.push((await settled(stripe, 100 + i)).balance_transaction);
  const first = await stripe.balanceTransactions.list({ limit: 3 });
  assert.equal(first.object, 'list');
  assert.equal(first.url, '/v1/balance_transactions');
  assert.equal(first.has_more, true);
  const seen = await stripe.balanceTransactions.list({ limit: 3 }).autoPagingToArray({ limit: 100 });
  assert.deepEqual(seen.map((x) => x.id), ids.toReversed());
});

test('an unknown balance transaction is 404', async () => {
  const err = await rejects(h.stripe().balanceTransactions.retrieve('txn_doesnotexist'));
  assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError);
  assert.equal(err.statusCode, 404);
  assert.equal(err.code, 'resource_missing');
  assert.equal(err.message, "No such balance_transaction: 'txn_doesnotexist'");
});

test('a reversal takes the credit back', async () => {
  const stripe = h.stripe();
  const tu = await stripe.topups.create({ amount: 800, currency: 'usd' });
  await helper(stripe, 'POST', `/v1/test_helpers/topups/${tu.id}/succeed`);
  assert.equal(usdTotal(await stripe.balance.retrieve()), 800);
  await helper(stripe, 'POST', `/v1/test_helpers/topups/${tu.id}/reverse`);
  assert.equal(usdTotal(await stripe.balance.retrieve()), 0);
  const txns = (await stripe.balanceTransactions.list()).data;
  assert.deepEqual(txns.map((x) => x.type).sort(), ['topup', 'topup_reversal']);
  const reversal = txns.find((x) => x.type === 'topup_reversal');
  assert.equal(reversal.amount, -800);
  assert.equal(reversal.net, -800);
});
