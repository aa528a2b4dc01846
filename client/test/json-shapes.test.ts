import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startClient, writeConfig } from './helpers/client-process.js';
import { FakeSignalServer } from './helpers/fake-server.js';

// Scripts depend on `status --json` and `history --json`: docs/client.md shows their shapes, and this test
// holds the docs to what the commands print. Every key printed is documented; every documented key is printed,
// unless it sits in an array this run left empty or is one the docs call optional.

const DOC = readFileSync(resolve(import.meta.dirname, '../../docs/client.md'), 'utf8');

function docExample(name: string): unknown {
  const m = new RegExp(`<!-- json-shape: ${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/client.md has no json-shape: ${name} block`);
  return JSON.parse(m[1]!);
}

/** Key paths: `today.day`, `positions[].market`; `emptyArrays` gets the paths of empty arrays. */
function paths(v: unknown, at = '', out = new Set<string>(), emptyArrays = new Set<string>()) {
  if (Array.isArray(v)) {
    if (!v.length) emptyArrays.add(at);
    for (const x of v) paths(x, `${at}[]`, out, emptyArrays);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = at ? `${at}.${k}` : k;
      out.add(p);
      paths(x, p, out, emptyArrays);
    }
  }
  return { out, emptyArrays };
}

function compare(real: unknown, doc: unknown, optional: string[], opaque: string[]) {
  const keep = (p: string) => !opaque.some((o) => p.startsWith(`${o}.`));
  const r = paths(real);
  const d = paths(doc);
  const printed = [...r.out].filter(keep);
  const documented = [...d.out].filter(keep);
  expect(
    printed.filter((p) => !d.out.has(p)),
    'printed but not documented',
  ).toEqual([]);
  const inEmptyArray = (p: string) => [...r.emptyArrays].some((a) => p.startsWith(`${a}[].`));
  expect(
    documented.filter((p) => !r.out.has(p) && !inEmptyArray(p) && !optional.includes(p)),
    'documented but not printed',
  ).toEqual([]);
}

let server: FakeSignalServer;
let dir: string;
beforeEach(async () => {
  server = await FakeSignalServer.start({ heartbeatMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'cc-shapes-'));
  writeConfig(dir, { server: { url: server.url, start_from: 'all' }, filters: { min_confidence: 0.5 } });
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${server.key}\n`);
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const runUntilCaughtUp = async () => {
  const run = startClient(['-c', 'catalyst.yaml', 'run'], {}, dir);
  await run.waitStdout(/waiting for signals\n/);
  run.child.kill('SIGINT');
  expect((await run.exited).code).toBe(0);
};

describe('the documented JSON shapes', () => {
  it('status --json and history --json print exactly the documented keys', async () => {
    await server.publish({ symbol: 'BTC', price: 60000, stop_loss: 57000, take_profit: 66000 });
    await runUntilCaughtUp();
    // Signals 2-3 are trimmed before this client reads them: an accepted gap, so `gaps` is not empty.
    await server.publish({ symbol: 'ETH', price: 3000 });
    await server.publish({ symbol: 'SOL', price: 150 });
    await server.publish({ symbol: 'ETH', price: 3000, confidence: 0.1 });
    server.trim(3);
    await runUntilCaughtUp();
    expect((await runCli(['-c', 'catalyst.yaml', 'pause', '--reason', 'lunch'], {}, dir)).code).toBe(0);

    const status = JSON.parse((await runCli(['-c', 'catalyst.yaml', 'status', '--json'], {}, dir)).stdout);
    expect(status.gaps.length).toBeGreaterThan(0);
    compare(status, docExample('status'), [], []);

    const history = JSON.parse((await runCli(['-c', 'catalyst.yaml', 'history', '--json'], {}, dir)).stdout);
    expect(history.map((h: { reason: string }) => h.reason)).toEqual(['skipped:confidence', 'trade:entry']);
    // `signal` is the wire signal (docs/protocol.md); optional leg keys depend on the order.
    compare(history, docExample('history'), ['[].legs[].stopLoss', '[].legs[].takeProfit'], ['[].signal']);
  });
});
