// The README's Node example runs as written against a live server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockServer, REPO_ROOT } from './helpers.mjs';

const run = promisify(execFile);

test('examples/node_client.mjs runs against the server', async () => {
  const srv = await MockServer.start();
  // Copied beside this suite so that `import 'stripe'` finds its node_modules.
  const copy = join(dirname(fileURLToPath(import.meta.url)), '.node_client.example.mjs');
  await copyFile(join(REPO_ROOT, 'examples', 'node_client.mjs'), copy);
  try {
    const port = new URL(srv.url).port;
    const { stdout } = await run(process.execPath, [copy], {
      env: { ...process.env, TOPUPS_MOCK_PORT: port },
      timeout: 60_000,
    });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^created tu_\w+ pending$/);
    assert.ok(lines.some((l) => l.startsWith('listed tu_')));
    assert.ok(stdout.includes('error: 404 resource_missing'));
    assert.equal(lines.at(-1), 'canceled: canceled');
  } finally {
    await rm(copy, { force: true });
    await srv.stop();
  }
});
