import path from 'node:path';
import { expect, it } from 'vitest';
import { spawnServer, type ServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/server.js';

const LISTENING =
  /^catalyst-server listening on http:\/\/127\.0\.0\.1:\d+ \(WebSocket ws:\/\/127\.0\.0\.1:\d+\/v1\/stream\)$/m;

/** The human `listening on` line comes right after the JSON `listening` log line: wait for it. */
async function humanLine(p: ServerProcess): Promise<string> {
  await expect.poll(() => p.stderr(), { timeout: 10_000 }).toMatch(LISTENING);
  return p.stderr();
}

async function stop(p: ServerProcess): Promise<void> {
  p.child.kill('SIGTERM');
  expect(await p.exited).toBe(0);
}

it('says where it listens on every start, not only the first (stderr is not a terminal here)', async () => {
  const dir = path.join(tempDir(), 'data');
  const first = await spawnServer(dir);
  expect(await humanLine(first)).toMatch(/Created API keys/);
  await stop(first);

  const again = await spawnServer(dir);
  const text = await humanLine(again);
  expect(text).not.toMatch(/Created API keys|cat_[0-9a-f]{12}_/);
  await stop(again);
});
