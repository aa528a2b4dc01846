import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('runs server, feed and paper client offline, shows each decision, and stops cleanly', async () => {
    const child = spawn(process.execPath, [DEMO, '--count', '6', '--interval', '30', '--seed', '7'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, out).toBe(0);
    const decisions = out.split('\n').filter((l) => /^client │ #\d+/.test(l));
    // It stops after 6; one more may be decided while the client finishes its in-flight signal.
    expect(decisions.length).toBeGreaterThanOrEqual(6);
    for (const l of decisions) expect(l).toMatch(/ (TRADED|skipped|REJECTED) /);
    expect(out).toMatch(/feed {3}│ #1 /);
    expect(out).toContain(`client decided ${decisions.length}: `);
    expect(out).toMatch(/\d+ traded, \d+ skipped, 0 rejected; client exit 0/);
  });
});
