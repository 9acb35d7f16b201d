// The official Stripe CLI's `stripe listen` against topups-mock, end to end.
// Run by listen.test.mjs inside a network namespace that has only a loopback
// interface, so neither the CLI's update check nor its telemetry can leave
// the machine; everything here talks to 127.0.0.1.
//
// 1. Starts the mock (manual clock, seeded) and a receiver that verifies
//    every delivery with stripe-node's stripe.webhooks.constructEvent.
// 2. `stripe listen --print-secret`, then `stripe listen --forward-to
//    <receiver> --events topup.created,topup.succeeded`: the secret in its
//    "Ready!" line is the printed one.
// 3. Creates a top-up with stripe-node and settles it with the clock helper:
//    the receiver gets topup.created and topup.succeeded, signed with that
//    secret, and not balance.available (filtered by the CLI); the CLI prints
//    its --> / <-- lines; the mock's delivery log shows each event
//    acknowledged and what the receiver answered; nothing stays pending.
// 4. `stripe listen --print-json` prints the events as JSON.
//
// Exits non-zero on the first failed check. Waits are polls with deadlines.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import Stripe from 'stripe';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../..');
const KEY = 'sk_test_listen_scenario';
const DEADLINE_MS = 30000;
const EVENTS = ['topup.created', 'topup.succeeded'];

const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** The CLI binary of the pinned npm package (@stripe/cli's build for this
 * platform; listen.test.mjs skips where there is none). */
function stripeCli() {
  const require = createRequire(import.meta.url);
  const pkg = `@stripe/cli-${process.platform}-${process.arch}`;
  return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', 'stripe');
}

function mockBin() {
  const configured = process.env.TOPUPS_MOCK_BIN || 'target/debug/topups-mock';
  return isAbsolute(configured) ? configured : resolve(REPO_ROOT, configured);
}

async function waitFor(what, check, ms = DEADLINE_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A child process whose output is kept. */
function run(cmd, args, env) {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const out = { stdout: '', stderr: '', proc };
  proc.stdout.setEncoding('utf8').on('data', (d) => (out.stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d) => (out.stderr += d));
  out.exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return out;
}

async function stop(child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 10000);
  await child.exited;
  clearTimeout(timer);
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

// --- the mock ---------------------------------------------------------------

const mock = run(mockBin(), ['--port', '0', '--clock', 'manual', '--seed', '11', '--log-level', 'warn'], process.env);
const base = await waitFor('the mock to start', () => {
  const m = mock.stdout.match(/topups-mock listening on (http:\/\/\S+)/);
  return m && m[1];
});
const port = Number(new URL(base).port);
// The CLI takes only http://127.0.0.1:PORT as a local API base.
const apiBase = `http://127.0.0.1:${port}`;

async function api(method, path, data) {
  const res = await fetch(apiBase + path, {
    method,
    headers: {
      Authorization: `Bearer ${KEY}`,
      ...(data ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: data ? new URLSearchParams(data).toString() : undefined,
  });
  const json = await res.json();
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
  return json;
}

const stripe = new Stripe(KEY, {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  telemetry: false,
  maxNetworkRetries: 0,
});

// --- the receiver -----------------------------------------------------------

let secret = null;
const received = []; // verified events
const refused = []; // what failed verification
const receiver = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    try {
      received.push(stripe.webhooks.constructEvent(raw, req.headers['stripe-signature'], secret));
      res.writeHead(200).end('{"received":true}');
    } catch (e) {
      refused.push(`${e.message}: ${raw.toString().slice(0, 200)}`);
      res.writeHead(400).end(e.message);
    }
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const forwardTo = `http://127.0.0.1:${receiver.address().port}/webhook`;

// --- the CLI ----------------------------------------------------------------

const home = mkdtempSync(join(tmpdir(), 'topups-mock-listen-'));
const cliEnv = {
  PATH: process.env.PATH,
  // Its configuration starts empty; it never reports home.
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  STRIPE_CLI_TELEMETRY_OPTOUT: '1',
  STRIPE_DEVICE_NAME: 'topups-mock-test',
};
const cli = stripeCli();
const common = ['--api-base', apiBase, '--api-key', KEY, '--skip-update'];

async function ready(child) {
  const line = await waitFor('the CLI to say Ready', () => {
    const text = stripAnsi(child.stderr + child.stdout);
    if (child.proc.exitCode !== null) {
      throw new Error(`the CLI exited (${child.proc.exitCode}):\n${text}`);
    }
    return text.match(/Ready! .*Your webhook signing secret is (whsec_\w+)/);
  });
  return line[1];
}

try {
  // --print-secret: the session's secret, and nothing more.
  const printed = run(cli, ['listen', '--print-secret', ...common], cliEnv);
  const done = await printed.exited;
  assert.equal(done.code, 0, printed.stderr);
  const printedSecret = printed.stdout.trim();
  assert.match(printedSecret, /^whsec_[0-9a-f]{64}$/);

  // Forwarding two event types to the receiver.
  const listen = run(
    cli,
    ['listen', ...common, '--forward-to', forwardTo, '--events', EVENTS.join(',')],
    cliEnv,
  );
  secret = await ready(listen);
  assert.equal(secret, printedSecret, 'the Ready! line and --print-secret agree');

  const topup = await stripe.topups.create({ amount: 1234, currency: 'usd', description: 'listen' });
  await api('POST', '/v1/test_helpers/clock/advance', { seconds: '5' });

  await waitFor('both events at the receiver', () => received.length >= 2 || refused.length > 0);
  assert.deepEqual(refused, [], 'every delivery verifies with constructEvent');
  assert.deepEqual(
    received.map((e) => e.type),
    EVENTS,
  );
  for (const e of received) assert.equal(e.data.object.id, topup.id);

  // The CLI's own account of it.
  for (const e of received) {
    await waitFor(`the CLI's lines for ${e.id}`, () => {
      const out = stripAnsi(listen.stdout);
      return (
        out.includes(`--> ${e.type} [${e.id}]`) && out.includes(`<--  [200] POST ${forwardTo} [${e.id}]`)
      );
    });
  }

  // The mock's: every event acknowledged (balance.available too, which the
  // CLI did not forward), what the receiver answered beside the forwarded
  // ones, and nothing pending.
  const events = (await api('GET', '/v1/events?limit=10')).data;
  assert.deepEqual(events.map((e) => e.type).sort(), ['balance.available', ...EVENTS].sort());
  const log = await waitFor('the delivery log', async () => {
    const rows = (await api('GET', '/v1/test_helpers/webhook_deliveries')).data;
    return rows.length >= events.length + EVENTS.length && rows;
  });
  for (const e of events) {
    const rows = log.filter((r) => r.event === e.id);
    const acked = rows.find((r) => r.url.startsWith('ws://'));
    assert.ok(acked && acked.succeeded && acked.status === 200, JSON.stringify(rows));
    const answered = rows.find((r) => r.url === forwardTo);
    if (EVENTS.includes(e.type)) {
      assert.ok(answered && answered.status === 200, JSON.stringify(rows));
    } else {
      assert.equal(answered, undefined, JSON.stringify(rows));
    }
  }
  for (const e of (await api('GET', '/v1/events?limit=10')).data) {
    assert.equal(e.pending_webhooks, 0, JSON.stringify(e));
  }
  await stop(listen);

  // --print-json: the events, as JSON on stdout.
  const json = run(cli, ['listen', '--print-json', ...common], cliEnv);
  await ready(json);
  const second = await stripe.topups.create({ amount: 4321, currency: 'usd' });
  const printedEvent = await waitFor('the printed event', () =>
    stripAnsi(json.stdout)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((e) => e.type === 'topup.created' && e.data.object.id === second.id),
  );
  assert.equal(printedEvent.object, 'event');
  await stop(json);
  console.log('stripe listen scenario: all checks passed');
} finally {
  for (const c of children) await stop({ proc: c, exited: new Promise((r) => c.once('exit', r)) });
  receiver.close();
  rmSync(home, { recursive: true, force: true });
}
