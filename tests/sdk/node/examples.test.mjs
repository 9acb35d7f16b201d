// The README's Node example runs as documented: from the repository root,
// `node examples/node_client.mjs`, with the SDK from examples/package.json
// (tests/run.sh runs `npm ci --prefix examples`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { MockServer, REPO_ROOT } from './helpers.mjs';

const run = promisify(execFile);

test('examples/node_client.mjs runs against the server', async () => {
  assert.ok(
    existsSync(join(REPO_ROOT, 'examples', 'node_modules', 'stripe', 'package.json')),
    'the example needs its SDK: run `npm ci --prefix examples` (tests/run.sh does)',
  );
  const srv = await MockServer.start();
  try {
    const port = new URL(srv.url).port;
    const { stdout } = await run(process.execPath, ['examples/node_client.mjs'], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOPUPS_MOCK_PORT: port },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^created tu_\w+ pending$/);
    assert.ok(lines.some((l) => l.startsWith('listed tu_')));
    assert.ok(stdout.includes('error: 404 resource_missing'));
    assert.equal(lines.at(-1), 'canceled: canceled');
  } finally {
    await srv.stop();
  }
});
