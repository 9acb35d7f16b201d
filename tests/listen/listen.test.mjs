// The real Stripe CLI running `stripe listen` against topups-mock: see
// scenario.mjs for what is checked. The CLI is the binary npm's
// @stripe/cli 1.52.0 installs on Linux x64, pinned in package.json as its
// platform package @stripe/cli-linux-x64 (the wrapper package's lockfile
// would need every platform's build; elsewhere the test is SKIPPED).
//
// The CLI looks up api.github.com (update check) and r.stripe.com
// (telemetry) when it runs; none of that may leave the machine. So the
// scenario (the mock, the receiver and the CLI) runs in a new user and
// network namespace whose only interface is loopback (`unshare -rn`), with
// STRIPE_CLI_TELEMETRY_OPTOUT=1 and --skip-update besides. Where
// `unshare -rn` is not allowed, the test is reported SKIPPED, loudly: it
// does not pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = dirname(fileURLToPath(import.meta.url));
const TIMEOUT_MS = 180000;

/** Why the scenario cannot run here, if it cannot: no CLI build for this
 * platform, or no loopback-only namespace. */
function cannotRun() {
  const pkg = `@stripe/cli-${process.platform}-${process.arch}`;
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    return `${pkg} is not installed (only Linux x64 is pinned in tests/listen/package.json)`;
  }
  const probe = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], {
    encoding: 'utf8',
    timeout: 10000,
  });
  if (probe.error) return `unshare: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -rn: ${(probe.stderr || '').trim() || `exit ${probe.status}`}`;
  return null;
}

const why = cannotRun();
if (why) {
  const banner = '*'.repeat(72);
  console.log(
    `\n${banner}\nSKIPPED: the stripe listen suite needs the pinned Stripe CLI and a\n` +
      `loopback-only network namespace (\`unshare -rn\` with \`ip\`):\n  ${why}\n` +
      `The real Stripe CLI is never run outside one (it would reach the internet).\n${banner}\n`,
  );
}

test('stripe listen (the official CLI) forwards signed events from the mock', { skip: why ?? false, timeout: TIMEOUT_MS }, async () => {
  const child = spawn(
    'unshare',
    ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$1"', process.execPath, join(HERE, 'scenario.mjs')],
    {
      cwd: HERE,
      // No proxy inside the namespace: every address is 127.0.0.1.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k))),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
  assert.equal(code, 0, `the scenario failed:\n${output}`);
  assert.match(output, /all checks passed/);
});
