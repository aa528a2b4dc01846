#!/usr/bin/env node
// The whole system on one machine, offline: a signal server on a local SQLite file, a demo publisher that
// emits realistic catalyst classifications, and a paper-trading client deciding and "executing" each one.
//
//   npm run demo                         until Ctrl-C
//   npm run demo -- --count 10           stop after the client decided 10 signals
//   npm run demo -- --interval 500       publish every ~0.5 s (default 1.5 s)
//   npm run demo -- --open-after 8000    8 s of simulated pre-market before the open (default 4 s)
//
// The client trades US stocks (venue us_equity) in offline paper mode on a SIMULATED market clock that starts
// at 09:29 New York time on a trading day, whatever the real hour: the first signals meet the pre-market
// (extended-hours limit orders), the later ones the regular session (brackets). Signal age stays real time.
// Nothing leaves 127.0.0.1. Each run uses a fresh directory (printed; removed at the end unless --keep).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const USAGE = `usage: npm run demo -- [--count N] [--interval MS] [--open-after MS] [--seed N] [--keep]
  --count N          stop after the client decided N signals (default: until Ctrl-C)
  --interval MS      publish every ~MS ms, jittered (default 1500, at least 10)
  --open-after MS    simulated pre-market before the open, in real ms (default 4000, at least 100)
  --seed N           the feed's random mix (default: from the clock)
  --keep             keep the server and client directories (printed) to look at afterwards
  --help             this text`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      count: { type: 'string' },
      interval: { type: 'string', default: '1500' },
      keep: { type: 'boolean', default: false },
      seed: { type: 'string', default: String(Date.now() % 100000) },
      'open-after': { type: 'string', default: '4000' },
      help: { type: 'boolean', default: false },
    },
  });
} catch (e) {
  // parseArgs throws a TypeError (stack and all) for an unknown or malformed option: one line and the usage.
  console.error(`demo: ${e.message.split('\n')[0]}\n${USAGE}`);
  process.exit(2);
}
const args = parsed.values;
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = args.count ? Number(args.count) : Infinity;
const interval = Number(args.interval);
const openAfter = Number(args['open-after']);
if (!(count > 0) || !(interval >= 10) || !(openAfter >= 100) || !/^\d+$/.test(args.seed)) {
  console.error(
    `demo: invalid value (count > 0, interval >= 10, open-after >= 100, seed a whole number)\n${USAGE}`,
  );
  process.exit(2);
}
for (const f of ['server/dist/app.js', 'client/dist/cli.js']) {
  if (!existsSync(path.join(root, f))) {
    console.error(`${f} is missing: run \`npm run build\` first (npm run demo does it for you).`);
    process.exit(1);
  }
}

const { startServer } = await import(path.join(root, 'server/dist/app.js'));
const { loadConfig } = await import(path.join(root, 'server/dist/config.js'));
const { createLogger } = await import(path.join(root, 'server/dist/logger.js'));
const { createApiKey } = await import(path.join(root, 'server/dist/auth/api-keys.js'));
const { createFeed, DEMO_OPENING } = await import(path.join(root, 'server/dist/demo/feed.js'));
const { builtinCalendar, newYorkToUtc } = await import(path.join(root, 'client/dist/decide/index.js'));
const { Journal } = await import(path.join(root, 'client/dist/journal/index.js'));

const tty = process.stdout.isTTY;
const c = (code, s) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const dim = (s) => c(2, s);
const say = (who, line) =>
  console.log(
    `${who === 'feed' ? c(36, 'feed  ') : who === 'client' ? c(33, 'client') : c(35, 'demo  ')} │ ${line}`,
  );

const dir = mkdtempSync(path.join(os.tmpdir(), 'catalyst-demo-'));
const serverDir = path.join(dir, 'server');
const clientDir = path.join(dir, 'client');

// 1. The server, in this process, on a free port.
const config = loadConfig({
  flags: { data_dir: serverDir, port: 0, host: '127.0.0.1', log_level: 'warn', heartbeat_ms: 5000 },
});
const server = await startServer(
  config,
  createLogger('warn', { write: (s) => process.stderr.write(dim(s)) }),
);
const publishKey = createApiKey(server.keys, 'demo-publisher', ['publish']).key;
const readKey = createApiKey(server.keys, 'demo-friend', ['read']).key;
server.auth.refresh();
say(
  'demo',
  `signal server on ${server.url} (WebSocket ${server.wsUrl}/v1/stream), ${server.transport}, data in ${serverDir}`,
);
say('demo', `signing key SHA256:${server.signer.fingerprint}`);

// 2. A friend's client config: US stocks (venue us_equity) in offline paper mode: no broker, fills on a seeded
// random walk around each signal's price (limits rest, bracket legs trigger), the built-in NYSE calendar. Its market clock starts a minute before the open of the next trading day
// and runs 60 s of market time in --open-after ms: pre-market entries become extended-hours limit orders, then
// the open comes and entries become brackets (take-profit + stop-loss). Whole shares; exits sell what this
// client bought; an avoid blocks entries in its symbol.
const clientConfig = path.join(clientDir, 'catalyst.yaml');
await import('node:fs').then((fs) => fs.mkdirSync(clientDir, { recursive: true }));
const day = builtinCalendar(Date.now(), 9).find((d) => d.open === '09:30' && d.close === '16:00');
const marketStart = new Date(newYorkToUtc(day.date, '09:29')).toISOString();
const speed = Math.round((60_000 / openAfter) * 1000) / 1000;
writeFileSync(
  clientConfig,
  JSON.stringify(
    {
      mode: 'paper',
      data_dir: './journal',
      server: {
        url: server.url,
        start_from: 'all',
        signing_key_fingerprint: `SHA256:${server.signer.fingerprint}`,
      },
      exchange: { venue: 'us_equity' },
      equities: { session_policy: 'extended', fractional: false },
      filters: {
        min_confidence: 0.55,
        max_signal_age_ms: 60_000,
      },
      sizing: { mode: 'fixed_quote', fixed_quote: 25, confidence_scaling: true, max_quote_per_trade: 50 },
      risk: {
        max_open_positions: 4,
        cooldown_per_symbol_ms: 20_000,
        max_orders_per_day: 50,
      },
      paper: { starting_balance_quote: 1000, prices: 'walk', market_clock: { start: marketStart, speed } },
    },
    null,
    2,
  ),
);
say(
  'demo',
  // Sizing is 25 USD scaled by the signal's confidence, rounded down to whole shares: a 0.9 signal on a $2.11
  // stock buys 10 shares for 21.10 USD. Say that, not a flat amount no trade ever shows.
  `paper client config ${clientConfig} (US stocks, session policy extended, confidence >= 0.55, 25 USD x confidence a trade in whole shares, 20 s cooldown, 1000 USD to start)`,
);
say(
  'demo',
  // The same form as the client's own `market clock Mon 2026-11-23 09:29:00 ET` lines, so the two read alike.
  `simulated market clock from ${new Date(`${day.date}T12:00:00Z`).toLocaleDateString('en-US', { weekday: 'short', timeZone: 'UTC' })} ${day.date} 09:29 ET, ${speed}x real time (the open in ~${(openAfter / 1000).toFixed(1)} s)`,
);
say('demo', tty ? 'Ctrl-C stops everything.' : 'running');

const client = spawn(
  process.execPath,
  [path.join(root, 'client/bin/catalyst-client.js'), '--config', clientConfig, 'run', '--log-level', 'warn'],
  {
    cwd: clientDir,
    env: { ...process.env, CATALYST_SERVER_KEY: readKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
const clientExit = new Promise((r) => client.on('exit', (code, signal) => r(code ?? signal)));
let decided = 0;
const tally = { traded: 0, skipped: 0, rejected: 0 };
// The client tells when its simulated session changes; the feed's opening waits for those lines (events,
// not timers): its pre-market part once the client runs, its regular part once the market is open.
let clientReady;
const ready = new Promise((r) => (clientReady = r));
let marketOpen;
const opened = new Promise((r) => (marketOpen = r));
createInterface({ input: client.stdout }).on('line', (line) => {
  say('client', line);
  if (line.startsWith('market clock ')) {
    clientReady();
    if (line.includes(': regular session')) marketOpen();
  }
  if (!line.startsWith('#')) return;
  decided++;
  if (line.includes(' TRADED ')) tally.traded++;
  else if (line.includes(' REJECTED ')) tally.rejected++;
  else tally.skipped++;
  if (decided >= count) void stop('count reached');
});
createInterface({ input: client.stderr }).on('line', (line) => {
  let msg = line;
  try {
    const rec = JSON.parse(line);
    msg = `${rec.msg}${rec.err ? `: ${rec.err}` : ''}`;
  } catch {
    /* not JSON */
  }
  say('client', dim(msg));
});

// 3. The demo publisher: the opening (DEMO_OPENING) then one classification every ~interval ms, jittered.
const next = createFeed(Number(args.seed), undefined, [...DEMO_OPENING.pre, ...DEMO_OPENING.regular]);
let published = 0;
let timer;
/** The feed's last price per symbol: what the summary marks open positions at. */
const lastPrice = new Map();
const publishOne = async () => {
  const item = next();
  try {
    const res = await fetch(`${server.url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${publishKey}` },
      body: JSON.stringify(item),
    });
    const body = await res.json();
    published++;
    lastPrice.set(item.symbol, item.price);
    // What the alert asks for: the side of an entry, else the action (info, avoid, exit).
    const asks = item.action === 'enter' || !item.action ? item.direction : item.action;
    say(
      'feed',
      `#${String(body.seq).padEnd(5)} ${item.symbol.padEnd(6)} ${`${item.catalyst} ${asks} ${item.confidence.toFixed(2)}`.padEnd(24)} ${dim(`$${item.price}  ${item.headline}`)}`,
    );
  } catch (e) {
    say('feed', `publish failed: ${e.message}`);
  }
  if (stopping) return;
  // The regular part of the opening goes out once the simulated market is open.
  if (published === DEMO_OPENING.pre.length) await Promise.race([opened, stopped]);
  if (!stopping) timer = setTimeout(publishOne, interval * (0.5 + Math.random()));
};

const usd = (x) => `${x < 0 ? '-' : x > 0 ? '+' : ''}${Math.abs(x).toFixed(2)}`;
/**
 * Where the paper account ended, from the client's journal (the client has exited): each open position marked
 * at the feed's last price for its symbol, realised P&L (the journal's), unrealised, cash and equity.
 */
function summary() {
  const journalPath = path.join(clientDir, 'journal', 'journal.sqlite');
  if (!existsSync(journalPath)) return say('demo', 'no client journal: nothing was decided');
  const j = Journal.open(journalPath);
  try {
    const positions = j.positions();
    let unrealised = 0;
    let value = 0;
    say(
      'demo',
      `open positions at the end: ${positions.length}${positions.length ? " (marked at the feed's last price)" : ''}`,
    );
    for (const p of positions) {
      const last = lastPrice.get(p.market) ?? p.cost / p.amount;
      const u = p.amount * last - p.cost;
      unrealised += u;
      value += p.amount * last;
      say(
        'demo',
        `  ${p.market.padEnd(6)} ${String(p.amount).padStart(5)} shares  cost ${p.cost.toFixed(2)} USD (avg ${(p.cost / p.amount).toFixed(4)})  last $${last >= 1 ? last.toFixed(2) : last.toFixed(4)}  unrealised ${usd(u)} USD`,
      );
    }
    const cash = j.paperBalances()['USD'] ?? 0;
    const realised = j.totalRealized();
    say(
      'demo',
      `P&L: realised ${usd(realised)} USD, unrealised ${usd(unrealised)} USD; cash ${cash.toFixed(2)} + positions ${value.toFixed(2)} = equity ${(cash + value).toFixed(2)} USD (started with 1000.00, fees and slippage included)`,
    );
  } finally {
    j.close();
  }
}

let stopping;
let onStopped;
const stopped = new Promise((r) => (onStopped = r));
async function stop(reason) {
  onStopped();
  stopping ??= (async () => {
    clearTimeout(timer);
    say('demo', `stopping (${reason})`);
    if (client.exitCode === null) client.kill('SIGTERM');
    const code = await clientExit;
    await server.close();
    summary();
    say(
      'demo',
      `published ${published}; client decided ${decided}: ${tally.traded} traded, ${tally.skipped} skipped, ${tally.rejected} rejected; client exit ${code}`,
    );
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else say('demo', `kept ${dir}: try  npx --no -- catalyst-client --config ${clientConfig} status`);
    process.exit(code === 0 || code === 'SIGTERM' || code === 'SIGINT' ? 0 : 1);
  })();
  return stopping;
}
process.on('SIGINT', () => void stop('Ctrl-C'));
process.on('SIGTERM', () => void stop('SIGTERM'));
void clientExit.then((code) => {
  if (!stopping) void stop(`client exited (${code})`);
});
void Promise.race([ready, stopped]).then(() => {
  if (!stopping) void publishOne();
});
