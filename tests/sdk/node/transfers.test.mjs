// Transfers and reversals through stripe-node: top up, settle, transfer,
// reverse in parts; the destination's balance through stripeAccount;
// lists with filters and autoPagingEach; balance_insufficient as the SDK's
// typed error. Every response is checked against the OpenAPI subset.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Stripe, advance, assertStripeError, rejects } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const DEST = 'acct_1NodeDest';

async function available(stripe, options = {}) {
  const bal = await stripe.balance.retrieve({}, options);
  return bal.available.filter((e) => e.currency === 'usd').reduce((s, e) => s + e.amount, 0);
}

async function funded(amount) {
  const stripe = h.stripe();
  await stripe.topups.create({ amount, currency: 'usd' });
  await advance(stripe, 5);
  return stripe;
}

test('top up, transfer, reverse in parts, and the destination side', async () => {
  const stripe = await funded(5000);
  const tr = await stripe.transfers.create({
    amount: 2000,
    currency: 'usd',
    destination: DEST,
    transfer_group: 'order_7',
  });
  assert.match(tr.id, /^tr_/);
  assert.equal(tr.object, 'transfer');
  assert.equal(tr.amount_reversed, 0);
  assert.equal(tr.reversed, false);
  assert.match(tr.destination_payment, /^py_/);
  assert.equal(await available(stripe), 3000);
  assert.equal(await available(stripe, { stripeAccount: DEST }), 2000);

  const r1 = await stripe.transfers.createReversal(tr.id, { amount: 700 });
  assert.match(r1.id, /^trr_/);
  assert.equal(r1.object, 'transfer_reversal');
  assert.equal(r1.amount, 700);
  const r2 = await stripe.transfers.createReversal(tr.id);
  assert.equal(r2.amount, 1300);
  const done = await stripe.transfers.retrieve(tr.id);
  assert.equal(done.amount_reversed, 2000);
  assert.equal(done.reversed, true);
  assert.deepEqual(done.reversals.data.map((r) => r.id), [r2.id, r1.id]);
  assert.equal(await available(stripe), 5000);
  assert.equal(await available(stripe, { stripeAccount: DEST }), 0);

  const seen = [];
  await stripe.transfers.listReversals(tr.id, { limit: 1 }).autoPagingEach((r) => {
    seen.push(r.id);
  });
  assert.deepEqual(seen, [r2.id, r1.id]);
  const got = await stripe.transfers.retrieveReversal(tr.id, r1.id);
  assert.equal(got.amount, 700);
  const upd = await stripe.transfers.updateReversal(tr.id, r1.id, { metadata: { k: 'v' } });
  assert.equal(upd.metadata.k, 'v');

  const err = await rejects(stripe.transfers.createReversal(tr.id));
  assertStripeError(err, h.recorder, {
    cls: Stripe.errors.StripeInvalidRequestError,
    status: 400,
    message: `The transfer ${tr.id} is already fully reversed.`,
  });

  const destTxns = await stripe.balanceTransactions.list({}, { stripeAccount: DEST });
  assert.deepEqual(
    destTxns.data.map((t) => [t.type, t.amount]),
    [['payment_refund', -1300], ['payment_refund', -700], ['payment', 2000]],
  );
});

test('balance_insufficient is a typed error', async () => {
  const stripe = h.stripe();
  await stripe.topups.create({ amount: 1000, currency: 'usd' }); // pending only
  const err = await rejects(stripe.transfers.create({ amount: 1, currency: 'usd', destination: DEST }));
  assertStripeError(err, h.recorder, {
    cls: Stripe.errors.StripeInvalidRequestError,
    status: 400,
    code: 'balance_insufficient',
    prefix: 'You have insufficient available funds in your Stripe account.',
  });
});

test('update, list filters, events and expand', async () => {
  const stripe = await funded(1000);
  const a = await stripe.transfers.create({ amount: 5, currency: 'usd', destination: 'acct_1A', transfer_group: 'g' });
  const b = await stripe.transfers.create({ amount: 5, currency: 'usd', destination: 'acct_1B', transfer_group: 'g' });
  const byDest = await stripe.transfers.list({ destination: 'acct_1B' });
  assert.deepEqual(byDest.data.map((t) => t.id), [b.id]);
  const byGroup = [];
  await stripe.transfers.list({ transfer_group: 'g', limit: 1 }).autoPagingEach((t) => {
    byGroup.push(t.id);
  });
  assert.deepEqual(byGroup, [b.id, a.id]);

  await stripe.transfers.update(a.id, { metadata: { order: '1' } });
  const events = await stripe.events.list({ type: 'transfer.*' });
  assert.deepEqual(events.data.map((e) => e.type), ['transfer.updated', 'transfer.created', 'transfer.created']);
  assert.deepEqual(events.data[0].data.previous_attributes, { metadata: { order: null } });

  const x = await stripe.transfers.retrieve(a.id, { expand: ['balance_transaction', 'destination_payment'] });
  assert.equal(x.balance_transaction.type, 'transfer');
  assert.equal(x.destination_payment.source_transfer, a.id);
});
