// Support code for the Whop Node SDK suite: a real topups-mock process
// (`--port 0 --clock manual`), and a fetch that checks every response of
// the Whop surface against Whop's OpenAPI, read from the repository's
// tests/schema/whop-openapi-topups.yaml.

import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SPEC = resolve(REPO_ROOT, 'tests/schema/whop-openapi-topups.yaml');

// OpenAPI 3.1 schemas are JSON Schema: point $refs at $defs, drop examples.
function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'example' || k === 'description') continue;
      out[k] = k === '$ref' ? v.replace('#/components/schemas/', '#/$defs/') : convert(v);
    }
    return out;
  }
  return node;
}

const spec = YAML.parse(readFileSync(SPEC, 'utf8'));
const defs = convert(spec.components.schemas);
const responses = spec.paths['/topups'].post.responses;
const ajv = new Ajv2020({ strict: false, allErrors: true });
// Whop writes UTC with milliseconds.
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const topupSchema = ajv.compile({ ...convert(responses['200'].content['application/json'].schema), $defs: defs });
const errorSchema = ajv.compile({ ...convert(responses['400'].content['application/json'].schema), $defs: defs });

export const violations = [];

/** Checks one Whop response body; records and throws a violation. */
export function checkBody(method, path, status, body) {
  const validate = status >= 200 && status < 300 ? topupSchema : errorSchema;
  if (status >= 200 && status < 300 && !(method === 'POST' && path.endsWith('/topups')) && !/\/topups\/[^/]+$/.test(path)) {
    return; // the mock's own helpers: checked by the Rust suite
  }
  if (!validate(body)) {
    const msg = `${method} ${path} -> ${status}: ${ajv.errorsText(validate.errors)}: ${JSON.stringify(body)}`;
    violations.push(msg);
    throw new Error(`Whop OpenAPI violation: ${msg}`);
  }
}

/** A fetch that validates every answer before the SDK sees it. */
export async function validatingFetch(url, init) {
  const res = await fetch(url, init);
  const text = await res.clone().text();
  const path = new URL(url).pathname;
  checkBody(init?.method ?? 'GET', path, res.status, JSON.parse(text));
  return res;
}

export function serverBin() {
  const configured = process.env.TOPUPS_MOCK_BIN || 'target/debug/topups-mock';
  return isAbsolute(configured) ? configured : resolve(REPO_ROOT, configured);
}

export class MockServer {
  static async start(flags = []) {
    const bin = serverBin();
    if (!existsSync(bin)) throw new Error(`server binary ${bin} not found: run cargo build first`);
    const proc = spawn(bin, ['--port', '0', '--clock', 'manual', '--log-level', 'warn', ...flags], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: proc.stdout });
    const url = await new Promise((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start')), 15000);
      lines.on('line', (line) => {
        const m = line.match(/listening on (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolveUrl(m[1]);
        }
      });
      proc.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const srv = new MockServer();
    srv.proc = proc;
    srv.url = url;
    srv.baseURL = `${url}/api/v1`;
    return srv;
  }

  stop() {
    this.proc.kill('SIGKILL');
  }

  /** Moves the key's manual clock with the mock's test helper. */
  async advance(key, seconds) {
    const res = await fetch(`${this.baseURL}/test_helpers/clock/advance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ seconds }),
    });
    if (res.status !== 200) throw new Error(`advance: ${res.status} ${await res.text()}`);
    return res.json();
  }
}

export function randomKey() {
  return `whop_key_${randomBytes(8).toString('hex')}`;
}
