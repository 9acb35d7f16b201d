// The official Whop Node SDK (@whop/sdk 0.0.42) against topups-mock's
// Whop surface: create exactly as Whop's docs show it (with baseURL), its
// typed errors, and Standard Webhooks verification of every delivery.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import Whop from '@whop/sdk';
import { MockServer, randomKey, validatingFetch, violations } from './helpers.mjs';

const server = await MockServer.start();
after(() => {
  server.stop();
  assert.deepEqual(violations, []);
});

function client(apiKey = randomKey(), options = {}) {
  return new Whop({ apiKey, baseURL: server.baseURL, fetch: validatingFetch, maxRetries: 0, ...options });
}

test('client.topups.create as Whop documents it', async () => {
  const key = randomKey();
  const whop = client(key);
  const topup = await whop.topups.create({
    amount: 6.9,
    company_id: 'biz_xxxxxxxxxxxxxx',
    currency: 'usd',
    payment_method_id: 'pmt_xxxxxxxxxxxxxx',
  });
  assert.match(topup.id, /^pay_/);
  assert.equal(topup.status, 'pending');
  assert.equal(topup.total, 6.9);
  assert.equal(topup.currency, 'usd');
  assert.equal(topup.paid_at, null);
  const clock = await server.advance(key, 5);
  assert.equal(clock.fired, 1);
  const res = await fetch(`${server.baseURL}/topups/${topup.id}`, { headers: { authorization: `Bearer ${key}` } });
  const settled = await res.json();
  assert.equal(settled.status, 'paid');
  assert.equal(settled.paid_at, clock.now);
});

test('a 400 is BadRequestError, a 401 AuthenticationError', async () => {
  const whop = client();
  await assert.rejects(
    whop.topups.create({ amount: -1, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_1' }),
    (e) => {
      assert.ok(e instanceof Whop.BadRequestError, e.constructor.name);
      assert.equal(e.status, 400);
      assert.equal(e.error.error.code, 'parameter_invalid');
      assert.equal(e.error.error.param, 'amount');
      return true;
    },
  );
  await assert.rejects(
    whop.topups.create({ amount: 6.9, company_id: 'biz_1', currency: 'usd' }),
    (e) => e instanceof Whop.BadRequestError && e.error.error.code === 'parameter_missing',
  );
  await assert.rejects(
    client('not a key').topups.create({ amount: 6.9, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_1' }),
    (e) => {
      assert.ok(e instanceof Whop.AuthenticationError, e.constructor.name);
      assert.equal(e.status, 401);
      return true;
    },
  );
  await assert.rejects(
    whop.topups.create({ amount: 1, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_verification_required' }),
    (e) => e instanceof Whop.UnprocessableEntityError,
  );
});

test('injected faults are typed errors, and the SDK retries them by itself', async () => {
  const faulty = await MockServer.start(['--error-rate', '1', '--error-status', '429']);
  try {
    const whop = new Whop({ apiKey: randomKey(), baseURL: faulty.baseURL, fetch: validatingFetch, maxRetries: 1 });
    let calls = 0;
    const counting = new Whop({
      apiKey: randomKey(),
      baseURL: faulty.baseURL,
      maxRetries: 1,
      fetch: (url, init) => {
        calls += 1;
        return validatingFetch(url, init);
      },
    });
    await assert.rejects(
      counting.topups.create({ amount: 1, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_1' }),
      (e) => e instanceof Whop.RateLimitError,
    );
    assert.equal(calls, 2);
    assert.ok(whop);
  } finally {
    faulty.stop();
  }
});

test('every Whop delivery verifies with client.webhooks.unwrap; a tampered one does not', async () => {
  const received = [];
  const hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.end();
      hook.emit('delivery');
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  const secret = 'ws_node_test_secret';
  const srv = await MockServer.start([
    '--whop-webhook', `http://127.0.0.1:${hook.address().port}/whop`,
    '--whop-webhook-secret', secret,
  ]);
  try {
    const key = randomKey();
    // As Whop's docs pass the key: base64 of the secret.
    const whop = new Whop({ apiKey: key, baseURL: srv.baseURL, fetch: validatingFetch, webhookKey: btoa(secret) });
    const ok = await whop.topups.create({ amount: 6.9, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_1' });
    const bad = await whop.topups.create({ amount: 1, company_id: 'biz_1', currency: 'usd', payment_method_id: 'pmt_fail_insufficient_funds' });
    await srv.advance(key, 5);
    while (received.length < 4) await once(hook, 'delivery');
    const events = received.map(({ headers, body }) => whop.webhooks.unwrap(body, { headers }));
    const seen = events.map((e) => `${e.type} ${e.data.id}`).sort();
    assert.deepEqual(seen, [
      `payment.created ${bad.id}`,
      `payment.created ${ok.id}`,
      `payment.failed ${bad.id}`,
      `payment.succeeded ${ok.id}`,
    ].sort());
    for (const e of events) assert.match(e.id, /^msg_/);
    const { headers, body } = received[0];
    assert.throws(() => whop.webhooks.unwrap(body.replace('biz_1', 'biz_2'), { headers }));
    assert.throws(() => whop.webhooks.unwrap(body, { headers, key: btoa('ws_wrong') }));
  } finally {
    srv.stop();
    hook.close();
  }
});
