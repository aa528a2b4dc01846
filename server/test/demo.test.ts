import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEMO = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));

describe('npm run demo', () => {
  it('runs server, feed and a US-stock paper client offline on a simulated market clock, and stops cleanly', async () => {
    // --open-after: 10 s of simulated pre-market (a wide margin for a loaded machine to decide the 3 pre-market
    // signals); the regular part of the opening is published when the client reports the open (an event).
    const child = spawn(
      process.execPath,
      [DEMO, '--count', '7', '--interval', '30', '--seed', '7', '--open-after', '10000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, out).toBe(0);
    const lines = out.split('\n');
    const decisions = lines.filter((l) => /^client │ #\d+/.test(l));
    // It stops after 7; one more may be decided while the client finishes its in-flight signal.
    expect(decisions.length).toBeGreaterThanOrEqual(7);
    for (const l of decisions) expect(l).toMatch(/ (TRADED|skipped|REJECTED) /);
    expect(out).toMatch(/feed {3}│ #1 /);
    expect(out).toContain(`client decided ${decisions.length}: `);
    expect(out).toMatch(/\d+ traded, \d+ skipped, 0 rejected; client exit 0/);

    // The opening, in order: simulated pre-market, an extended-hours limit entry, an avoid, the entry it blocks,
    // the open, a bracket entry, the exit selling exactly the pre-market position.
    const at = (re: RegExp) => {
      const i = lines.findIndex((l) => re.test(l));
      expect(i, `${re} in\n${out}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    // The demo's own clock line reads like the client's: New York time marked ET, the same day.
    const banner = at(
      /^demo {3}│ simulated market clock from (\w{3} \d{4}-\d\d-\d\d) 09:29 ET, 6x real time/,
    );
    const day = /from (\w{3} \d{4}-\d\d-\d\d)/.exec(lines[banner]!)![1]!;
    const pre = at(/^client │ market clock \w{3} \d{4}-\d\d-\d\d 09:29:00 ET: pre-market \(simulated, 6x/);
    expect(lines[pre]).toContain(`market clock ${day} 09:29:00 ET`);
    const ext = at(
      /^client │ #1 +TLMD +fda long .* TRADED {3}buy (\d+) TLMD limit [\d.]+ ext-hours DAY, protect at open @/,
    );
    const avoid = at(
      /^client │ #2 +KLTO +offering avoid .* skipped {2}avoid signal: entries in KLTO blocked for 1d/,
    );
    const blocked = at(/^client │ #3 +KLTO +fda long .* skipped {2}avoid: /);
    const open = at(/^client │ market clock \w{3} \d{4}-\d\d-\d\d 09:30:00 ET: regular session$/);
    const bracket = at(
      /^client │ #4 +NVRX +fda long .* TRADED {3}buy \d+ NVRX market bracket tp [\d.]+ sl [\d.]+ GTC @/,
    );
    const exit = at(/^client │ #5 +TLMD +going_concern exit .* TRADED {3}sell (\d+) TLMD market DAY/);
    expect([pre, ext, avoid, blocked, open, bracket, exit]).toEqual(
      [pre, ext, avoid, blocked, open, bracket, exit].sort((a, b) => a - b),
    );
    const bought = /buy (\d+) TLMD/.exec(lines[ext]!)![1];
    expect(/sell (\d+) TLMD/.exec(lines[exit]!)![1]).toBe(bought);

    // The banner says what a trade is (confidence-scaled, whole shares), and every traded entry is at most that.
    expect(out).toContain('25 USD x confidence a trade in whole shares');
    for (const l of decisions.filter((x) => / TRADED +buy /.test(x))) {
      const conf = Number(/ long (\d\.\d+) /.exec(l)![1]);
      expect(Number(/ = ([\d.]+) USD/.exec(l)![1]), l).toBeLessThanOrEqual(25 * conf + 0.01);
    }
    // It ends with where the paper account stands: open positions, realised and unrealised P&L, equity.
    const n = Number(/^demo {3}│ open positions at the end: (\d+)/m.exec(out)?.[1] ?? NaN);
    expect(n, out).toBeGreaterThanOrEqual(0);
    expect(
      lines.filter((l) =>
        /^demo {3}│ {3}[A-Z]+ +\d+ shares +cost [\d.]+ USD .* last \$[\d.]+ +unrealised [-+]?[\d.]+ USD$/.test(
          l,
        ),
      ),
    ).toHaveLength(n);
    const pnl =
      /P&L: realised ([-+]?[\d.]+) USD, unrealised ([-+]?[\d.]+) USD; cash ([\d.]+) \+ positions ([\d.]+) = equity ([\d.]+) USD/.exec(
        out,
      );
    expect(pnl, out).not.toBeNull();
    const [realised, unrealised, cash, value, equity] = pnl!.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    expect(Math.abs(cash + value - equity)).toBeLessThan(0.011);
    // Fees are inside realised and cost, so the account moved by exactly realised + unrealised.
    expect(Math.abs(equity - 1000 - (realised + unrealised))).toBeLessThan(0.03);
    expect(at(/^demo {3}│ P&L: /)).toBeLessThan(at(/^demo {3}│ published \d+; client decided/));
  });

  it('--help prints the usage; an unknown flag or a bad value one line and the usage, exit 2, never a stack', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((done) => {
        const child = spawn(process.execPath, [DEMO, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => done({ code, out, err }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: npm run demo -- /);
    expect(help.out).toContain('--open-after MS');
    for (const [args, first] of [
      [['--bogus'], "demo: Unknown option '--bogus'"],
      [['--count'], "demo: Option '--count <value>' argument missing"],
      [['extra'], "demo: Unexpected argument 'extra'"],
      [['--count', '0'], 'demo: invalid value'],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.split('\n')[0]).toContain(first);
      expect(r.err).toMatch(/\nusage: npm run demo -- /);
      expect(r.err).not.toMatch(/\n\s+at |TypeError|node:internal/);
    }
  });
});
