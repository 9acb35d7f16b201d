// Support code for the Node SDK conformance suite.
//
// Every test talks to a real topups-mock process through the official
// `stripe` package. Each server is started with `--port 0 --clock manual
// --log-level warn` (plus whatever flags a test asks for) and announces its
// address on one stdout line. The binary is $TOPUPS_MOCK_BIN or
// target/debug/topups-mock under the repository root.
//
// Every response the SDK receives goes through ValidatingHttpClient, which
// checks the body against Stripe's OpenAPI subset (tests/sdk/schema) and that
// a Request-Id header is present. A violation fails the test that made the
// request (afterEach also asserts that none was recorded).
//
// A server that refuses its command line (for instance an unknown flag) fails
// the test that started it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import Stripe from 'stripe';
import Ajv2020 from 'ajv/dist/2020.js';
import { OpenApiValidator, SchemaViolation } from '../schema/openapi_schema.mjs';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BASE_FLAGS = ['--port', '0', '--clock', 'manual', '--log-level', 'warn'];
const LISTEN_PREFIX = 'topups-mock listening on ';
const START_TIMEOUT_MS = 15000;

export { Stripe, SchemaViolation };

export const validator = new OpenApiValidator(Ajv2020);

// ---------------------------------------------------------------------------
// The server process

export function serverBin() {
  const configured = process.env.TOPUPS_MOCK_BIN || 'target/debug/topups-mock';
  return isAbsolute(configured) ? configured : resolve(REPO_ROOT, configured);
}

const running = new Set();
process.on('exit', () => {
  for (const srv of running) srv.proc.kill('SIGKILL');
});

export class MockServer {
  static async start(flags = []) {
    const bin = serverBin();
    if (!existsSync(bin)) {
      throw new Error(`server binary ${bin} not found: run \`cargo build\` first or set TOPUPS_MOCK_BIN`);
    }
    const proc = spawn(bin, [...BASE_FLAGS, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
    const srv = new MockServer(proc, flags);
    running.add(srv);
    let stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    const lines = createInterface({ input: proc.stdout });
    const first = await new Promise((resolvePromise) => {
      const timer = setTimeout(() => resolvePromise({ timeout: true }), START_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolvePromise({ line });
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        resolvePromise({ exited: code });
      });
    });
    if (first.line === undefined || !first.line.startsWith(LISTEN_PREFIX)) {
      if (first.exited !== undefined) await new Promise((r) => setTimeout(r, 20));
      await srv.stop();
      if (stderr.includes('unexpected argument')) {
        throw new Error(`server refused the flags ${JSON.stringify(flags)}:\n${stderr}`);
      }
      throw new Error(
        `server ${JSON.stringify(flags)} did not start (${JSON.stringify(first)}):\n${stderr}`,
      );
    }
    // Keep draining stdout so the pipe never fills.
    lines.on('line', () => {});
    srv.url = first.line.slice(LISTEN_PREFIX.length).trim();
    const u = new URL(srv.url);
    srv.host = u.hostname;
    srv.port = Number(u.port);
    srv.stderr = () => stderr;
    return srv;
  }

  constructor(proc, flags) {
    this.proc = proc;
    this.flags = flags;
  }

  async stop() {
    running.delete(this);
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Plain HTTP, for checks that must bypass the SDK. */
  async http(method, path, { key = 'sk_test_raw', data, headers = {} } = {}) {
    const h = { ...headers };
    if (key !== null) h.Authorization = `Bearer ${key}`;
    let body;
    if (data !== undefined) {
      body = new URLSearchParams(data).toString();
      h['Content-Type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.url + path, { method, headers: h, body });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: () => JSON.parse(text),
    };
  }
}

// ---------------------------------------------------------------------------
// Schema-checking HTTP client for the SDK

export class Recorder {
  constructor() {
    this.exchanges = [];
    this.violations = [];
  }

  fail(message) {
    this.violations.push(message);
    throw new SchemaViolation(message);
  }

  check(ex) {
    const where = `${ex.method} ${ex.path} -> ${ex.status}`;
    const rid = ex.headers['request-id'];
    if (typeof rid !== 'string' || !rid.startsWith('req_')) {
      this.fail(`${where}: missing or malformed Request-Id header: ${rid}`);
    }
    const ctype = ex.headers['content-type'] || '';
    if (!ctype.startsWith('application/json')) {
      this.fail(`${where}: Content-Type is ${JSON.stringify(ctype)}, not application/json`);
    }
    let body;
    try {
      body = JSON.parse(ex.body);
    } catch {
      this.fail(`${where}: body is not JSON: ${ex.body.slice(0, 500)}`);
    }
    try {
      ex.schema = validator.validateResponse(ex.method, ex.path, ex.status, body);
    } catch (e) {
      this.fail(e.message);
    }
    return body;
  }

  /** Forgets the exchanges so far (violations are kept). */
  clear() {
    this.exchanges.length = 0;
  }

  requestsTo(method, path) {
    return this.exchanges.filter((e) => e.method === method && e.path === path);
  }

  get last() {
    return this.exchanges[this.exchanges.length - 1];
  }
}

// The whole body is read as soon as the headers arrive, so every response is
// recorded and checked, including those the SDK throws away when it retries.
class ValidatingResponse extends Stripe.HttpClientResponse {
  constructor(inner, exchange) {
    super(inner.getStatusCode(), inner.getHeaders());
    this.inner = inner;
    this.exchange = exchange;
  }

  getRawResponse() {
    return this.inner.getRawResponse();
  }

  toStream() {
    throw new Error('streaming responses are not used by this suite');
  }

  toJSON() {
    if (this.exchange.violation) return Promise.reject(this.exchange.violation);
    return Promise.resolve(JSON.parse(this.exchange.body));
  }
}

function readBody(raw) {
  return new Promise((resolvePromise, reject) => {
    const chunks = [];
    raw.on('data', (c) => chunks.push(c));
    raw.once('error', (e) => reject(Stripe.HttpClient.makeResponseBodyError(e)));
    raw.once('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
  });
}

export class ValidatingHttpClient extends Stripe.HttpClient {
  constructor(recorder) {
    super();
    this.inner = Stripe.createNodeHttpClient();
    this.recorder = recorder;
  }

  getClientName() {
    return this.inner.getClientName();
  }

  async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
    const start = performance.now();
    const res = await this.inner.makeRequest(host, port, path, method, headers, requestData, protocol, timeout);
    const body = await readBody(res.getRawResponse());
    const exchange = {
      method,
      url: path,
      path: path.split('?')[0],
      requestHeaders: headers,
      requestData,
      status: res.getStatusCode(),
      headers: res.getHeaders(),
      body,
      elapsed: performance.now() - start,
    };
    this.recorder.exchanges.push(exchange);
    try {
      this.recorder.check(exchange);
    } catch (e) {
      exchange.violation = e;
    }
    return new ValidatingResponse(res, exchange);
  }
}

export function randomKey(prefix = 'sk_test_') {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(24);
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export function header(headers, name) {
  if (!headers) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

// ---------------------------------------------------------------------------
// One harness per test file

export class Harness {
  constructor() {
    this.server = null;
    this.recorder = new Recorder();
    this.perTest = [];
  }

  /** Call from before(). */
  async start() {
    this.server = await MockServer.start();
  }

  /** Call from after(). */
  async stop() {
    await this.server?.stop();
  }

  /** Call from beforeEach(). */
  reset() {
    this.recorder = new Recorder();
  }

  /** Call from afterEach(): stops per-test servers, asserts no violation. */
  async finish() {
    const servers = this.perTest;
    this.perTest = [];
    await Promise.all(servers.map((s) => s.stop()));
    assert.deepEqual(this.recorder.violations, [], 'schema violations');
  }

  /** A dedicated server for this test; throws (failing the test) if the
   * server refuses the flags. */
  async startServer(...flags) {
    const srv = await MockServer.start(flags);
    this.perTest.push(srv);
    return srv;
  }

  /** A Stripe client for `server` (default: the shared one) with a fresh key. */
  stripe({ server = this.server, key = randomKey(), ...config } = {}) {
    const client = new Stripe(key, {
      host: server.host,
      port: server.port,
      protocol: 'http',
      httpClient: new ValidatingHttpClient(this.recorder),
      maxNetworkRetries: 2,
      ...config,
    });
    // The SDK's own backoff (0.5 s and up) only slows the suite down.
    client.getInitialNetworkRetryDelay = () => 0.01;
    client.getMaxNetworkRetryDelay = () => 0.02;
    client.secretKey = key;
    return client;
  }
}

/** A mock-only endpoint through the SDK's raw request (still validated). */
export function helper(stripe, method, path, params) {
  return stripe.rawRequest(method, path, method === 'GET' ? undefined : params ?? {});
}

export const clock = (stripe) => helper(stripe, 'GET', '/v1/test_helpers/clock');
export const advance = (stripe, seconds) =>
  helper(stripe, 'POST', '/v1/test_helpers/clock/advance', { seconds });

/** Awaits `promise`, asserts it rejects, and returns the error. */
export async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

/** Common checks on a Stripe error raised by the SDK. */
export function assertStripeError(err, recorder, expected) {
  const { cls, status, code = undefined, param = undefined, message, prefix, type = 'invalid_request_error' } =
    expected;
  assert.ok(err instanceof cls, `${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.constructor, cls);
  assert.equal(err.statusCode, status);
  assert.equal(err.rawType, type);
  assert.equal(err.code, code);
  assert.equal(err.param, param);
  if (message !== undefined) assert.equal(err.message, message);
  if (prefix !== undefined) assert.ok(err.message.startsWith(prefix), err.message);
  if (code !== undefined) {
    assert.equal(err.doc_url, `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`);
  }
  assert.match(err.requestId, /^req_/);
  assert.equal(err.requestId, recorder.last.headers['request-id']);
  assert.equal(err.headers['request-id'], err.requestId);
}
