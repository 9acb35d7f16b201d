// Server flags that shape outcomes: seeds, failure and cancel rates, failing
// amounts, failure codes and added latency. Top-ups settle when read because
// these servers run with --settle-after 0s.

import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, MockServer, randomKey } from './helpers.mjs';

const h = new Harness();
before(() => h.start());
after(() => h.stop());
beforeEach(() => h.reset());
afterEach(() => h.finish());

const SETTLE_NOW = ['--settle-after', '0s'];

async function settleAll(stripe, amounts) {
  const ids = [];
  for (const amount of amounts) ids.push((await stripe.topups.create({ amount, currency: 'usd' })).id);
  const out = [];
  for (const id of ids) out.push(await stripe.topups.retrieve(id));
  return out;
}

async function clientWith(flags, config = {}) {
  const server = await h.startServer(...flags);
  return h.stripe({ server, ...config });
}

test('the same seed gives the same ids', async () => {
  const key = randomKey();
  const runs = [];
  for (let i = 0; i < 2; i++) {
    const stripe = await clientWith(['--seed', '1234'], { key });
    const ids = [];
    for (let j = 0; j < 3; j++) ids.push((await stripe.topups.create({ amount: 1, currency: 'usd' })).id);
    runs.push(ids);
  }
  assert.deepEqual(runs[0], runs[1]);
  const other = await clientWith(['--seed', '4321'], { key });
  assert.notEqual((await other.topups.create({ amount: 1, currency: 'usd' })).id, runs[0][0]);
});

test('--failure-rate 1 fails everything', async () => {
  const stripe = await clientWith([...SETTLE_NOW, '--failure-rate', '1']);
  const topups = await settleAll(stripe, [100, 200, 300]);
  assert.deepEqual(topups.map((x) => x.status), ['failed', 'failed', 'failed']);
  assert.deepEqual([...new Set(topups.map((x) => x.failure_code))], ['insufficient_funds']);
  assert.ok(topups.every((x) => x.failure_message));
});

test('--failure-code', async () => {
  const stripe = await clientWith([...SETTLE_NOW, '--failure-rate', '1', '--failure-code', 'account_closed']);
  const [tu] = await settleAll(stripe, [100]);
  assert.deepEqual([tu.status, tu.failure_code], ['failed', 'account_closed']);
  assert.ok(tu.failure_message);
});

test('--failure-rate is seeded and partial', async () => {
  const key = randomKey();
  const outcomes = [];
  for (let i = 0; i < 2; i++) {
    const stripe = await clientWith([...SETTLE_NOW, '--failure-rate', '0.5', '--seed', '99'], { key });
    outcomes.push((await settleAll(stripe, Array(40).fill(100))).map((x) => x.status));
  }
  assert.deepEqual(outcomes[0], outcomes[1], 'the same seed replays the same outcomes');
  const failed = outcomes[0].filter((s) => s === 'failed').length;
  assert.deepEqual([...new Set(outcomes[0])].sort(), ['failed', 'succeeded']);
  assert.ok(failed >= 8 && failed <= 32, `${failed} of 40 failed`);
});

test('--cancel-rate 1 cancels everything', async () => {
  const stripe = await clientWith([...SETTLE_NOW, '--cancel-rate', '1']);
  const topups = await settleAll(stripe, [100, 200]);
  assert.deepEqual(topups.map((x) => x.status), ['canceled', 'canceled']);
  assert.ok(topups.every((x) => x.failure_code === null));
});

test('--fail-amount', async () => {
  const stripe = await clientWith([...SETTLE_NOW, '--fail-amount', '666', '--fail-amount', '1313']);
  const topups = await settleAll(stripe, [665, 666, 1313, 1314]);
  assert.deepEqual(topups.map((x) => x.status), ['succeeded', 'failed', 'failed', 'succeeded']);
  assert.equal(topups[1].failure_code, 'insufficient_funds');
});

for (const [flag, low] of [['40ms', 40], ['20ms..60ms', 20]]) {
  test(`--latency ${flag}`, async () => {
    const stripe = await clientWith(['--latency', flag]);
    const tu = await stripe.topups.create({ amount: 1, currency: 'usd' });
    await stripe.topups.retrieve(tu.id);
    await stripe.topups.list();
    assert.equal(h.recorder.exchanges.length, 3);
    for (const ex of h.recorder.exchanges) assert.ok(ex.elapsed >= low * 0.95, `${flag}: ${ex.elapsed} ms`);
  });
}

test('bad flag values are refused', async () => {
  for (const flags of [['--failure-rate', '2'], ['--error-status', '418'], ['--latency', 'soon']]) {
    await assert.rejects(MockServer.start(flags), /did not start/);
  }
});
