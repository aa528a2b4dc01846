#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { terminalText } from '@catalyst-signal/shared/text';
import { LOG_LEVELS, parseVerdict, sinceArg, wholeNumber } from './cli-args.js';
import { messageWithRecovery } from './recovery.js';
import { exitCodeOf } from './errors.js';

/**
 * The command line. Every command is imported lazily, so `--help`, status and history never load ccxt or
 * SQLite-heavy code they do not use. This is the only file that calls process.exit; errors are mapped to
 * exit codes in one place (fail()).
 */

const program = new Command();
program
  .name('catalyst-client')
  .version((createRequire(import.meta.url)('../package.json') as { version: string }).version)
  .description('Follow the Catalyst signal stream and trade on your own exchange account (paper by default).')
  // Repeatable for backtest (configs side by side); every other command reads the last one given.
  .option(
    '-c, --config <path>',
    'config file (repeat for backtest)',
    (v: string, acc: string[]) => [...acc, v],
    [],
  )
  // Bad usage (unknown option or command, a bad option value) is one line and exit 2, like an invalid config.
  .configureOutput({ outputError: (s, write) => write(s.replace(/^error: /, 'catalyst-client: ')) })
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));

const configPaths = () => program.opts<{ config: string[] }>().config;
const configPath = () => configPaths().at(-1) ?? 'catalyst.yaml';

/**
 * An error ends the command with the exit code of its class (errors.ts EXIT, docs/client.md); a stop names the
 * commands that start trading again.
 */
function fail(e: unknown): never {
  // A message can quote a server or a broker: shown inert (shared terminalText), never as escape sequences.
  process.stderr.write(`catalyst-client: ${terminalText(messageWithRecovery(e, configPath()))}\n`);
  process.exit(exitCodeOf(e));
}

async function ctx(logLevel?: string, o: { createDataDir?: boolean } = {}) {
  const { loadContext } = await import('./context.js');
  return loadContext(configPath(), { logLevel, ...o });
}
/** status, history, dashboard, pause, resume: an existing journal only. */
const existing = { createDataDir: false };

function action<A extends unknown[]>(fn: (...a: A) => Promise<number | void>) {
  return async (...a: A) => {
    try {
      const code = await fn(...a);
      process.exit(code ?? 0);
    } catch (e) {
      fail(e);
    }
  };
}

program
  .command('init')
  .description('write a commented config file with safe defaults (paper mode)')
  .option(
    '--server <url>',
    'signal server base URL; repeat it for the gateways of a cluster (written as server.urls)',
    (v: string, prev: string[] = []) => [...prev, v],
  )
  .addOption(
    new Option(
      '--venue <venue>',
      "what to trade; default: what the server's newest signals are about (us_equity when it cannot tell), asked when interactive",
    ).choices(['us_equity', 'crypto_spot']),
  )
  .option('--force', 'overwrite an existing file')
  .action(
    action(async (o: { server?: string[]; force?: boolean; venue?: 'us_equity' | 'crypto_spot' }) => {
      const [{ existsSync }, { dirname, resolve }] = await Promise.all([
        import('node:fs'),
        import('node:path'),
      ]);
      const init = await import('./commands/init.js');
      const target = resolve(configPath());
      if (existsSync(target) && !o.force)
        throw new Error(`${target} already exists (use --force to overwrite)`);
      // The read key may already be in .env (the Quick start puts it there first): then the server can tell
      // the venue, and the last line asks only for what is still missing.
      const { loadDotEnv } = await import('./context.js');
      loadDotEnv(process.cwd(), dirname(target));
      let venue = o.venue;
      if (!venue) {
        const { DEFAULT_SERVER_URL } = await import('./config.js');
        const guess = await init.guessVenue({
          urls: o.server?.length ? o.server : [DEFAULT_SERVER_URL],
          key: process.env['CATALYST_SERVER_KEY'] || undefined,
          keyEnv: 'CATALYST_SERVER_KEY',
        });
        if (process.stdin.isTTY && process.stdout.isTTY)
          venue = await init.askVenue(guess, { input: process.stdin, output: process.stdout });
        else {
          venue = guess.venue;
          process.stdout.write(`${guess.known ? '' : 'note: '}${guess.why}\n`);
        }
      }
      const path = init.initCommand({ config: target, server: o.server, force: o.force, venue });
      process.stdout.write(
        `wrote ${path} (${venue === 'us_equity' ? 'us_equity: US stocks, Alpaca paper; crypto instead: init --force --venue crypto_spot' : 'crypto_spot; US stocks instead: init --force --venue us_equity'})\n`,
      );
      if (o.server) {
        // Pin the server signing key now when the server is reachable; otherwise `check` pins it.
        const [{ Journal }, { serverKeyStatus }, c] = await Promise.all([
          import('./journal/index.js'),
          import('./keys.js'),
          ctx('warn'),
        ]);
        const j = Journal.open(c.journalPath);
        try {
          const k = await serverKeyStatus(c.config, j);
          process.stdout.write(
            `server signing key ${k.fingerprint} pinned (compare it with what the server operator tells you)\n`,
          );
        } catch (e) {
          process.stdout.write(
            `server signing key not pinned yet (${(e as Error).message}); \`check\` will pin it\n`,
          );
        } finally {
          j.close();
        }
      }
      process.stdout.write(`${init.nextStep(venue, process.env, configPath())}\n`);
    }),
  );

program
  .command('check')
  .description('validate config, server (key, protocol, signing key pin, clock) and exchange (markets, keys)')
  .option('--live', 'check as for a live run')
  .action(
    action(async (o: { live?: boolean }) => {
      const { checkCommand } = await import('./commands/check.js');
      const r = await checkCommand(await ctx('warn'), o);
      process.stdout.write(r.report + '\n');
      return r.ok ? 0 : 1;
    }),
  );

program
  .command('run')
  .description('follow the stream and trade (paper unless config mode: live AND --live)')
  .option('--live', 'trade real money (needs mode: live in the config too)')
  .addOption(
    new Option(
      '--log-level <level>',
      "JSON log level on stderr (default: the config's; warn when stderr is a terminal, where stdout shows one line per signal)",
    ).choices(LOG_LEVELS),
  )
  .option('--json', 'no readable connection lines on stdout: the JSON log on stderr tells everything')
  .option(
    '--dashboard',
    'also serve the local dashboard (as config dashboard.enabled); its URL is printed to a terminal, else written to <data_dir>/dashboard-url',
  )
  .action(
    action(async (o: { live?: boolean; logLevel?: string; json?: boolean; dashboard?: boolean }) => {
      const { runCommand } = await import('./commands/run.js');
      const terminal = process.stderr.isTTY && !o.json;
      return runCommand(await ctx(o.logLevel ?? (terminal ? 'warn' : undefined)), o);
    }),
  );

program
  .command('dashboard')
  .description(
    "serve the local dashboard (127.0.0.1, random port) on this client's journal; its URL is printed to a terminal, else written to <data_dir>/dashboard-url",
  )
  .action(
    action(async () => {
      const { dashboardCommand } = await import('./commands/dashboard.js');
      const { done } = await dashboardCommand(
        await ctx('warn', existing),
        (l) => void process.stdout.write(`${l}\n`),
      );
      return done;
    }),
  );

program
  .command('pin')
  .description('show or pin the server signing key; --replace after an announced key rotation')
  .option('--replace', 'replace a pinned key that differs (needs --fingerprint)')
  .option('--fingerprint <fp>', 'the fingerprint the operator printed with `catalyst-server keys signing`')
  .action(
    action(async (o: { replace?: boolean; fingerprint?: string }) => {
      const { pinCommand } = await import('./commands/pin.js');
      process.stdout.write((await pinCommand(await ctx('warn'), o)) + '\n');
    }),
  );

program
  .command('status')
  .description("cursor, positions, today's P&L and limit usage, last decisions")
  .option('--json', 'machine-readable')
  .action(
    action(async (o: { json?: boolean }) => {
      const { statusCommand } = await import('./commands/inspect.js');
      process.stdout.write(terminalText(statusCommand(await ctx('warn', existing), o)) + '\n');
    }),
  );

program
  .command('incidents')
  .description(
    'position incidents (broker and journal disagree); --ack ID accepts one so its symbol trades again',
  )
  .option('--ack <id>', "accept incident ID: the broker's count becomes the journal's")
  .option('--json', 'machine-readable')
  .action(
    action(async (o: { json?: boolean; ack?: string }) => {
      const { incidentsCommand } = await import('./commands/inspect.js');
      process.stdout.write(terminalText(incidentsCommand(await ctx('warn', existing), o)) + '\n');
    }),
  );

program
  .command('history')
  .description('the decision journal, newest first')
  .option('--verdict <v>', 'traded | skipped | rejected', (v: string) => (parseVerdict(v), v))
  .option('--reason <text>', 'reason contains, e.g. stale')
  .option('--symbol <s>', 'signal symbol')
  .option('--since <when>', '30m, 2h, 1d or an ISO date', sinceArg)
  .option('--limit <n>', 'rows, 1 to 100000', wholeNumber(1, 100_000), 50)
  .option('--json', 'machine-readable, with orders')
  .action(
    action(async (o: Record<string, string | number>) => {
      const { historyCommand } = await import('./commands/inspect.js');
      process.stdout.write(terminalText(historyCommand(await ctx('warn', existing), o)) + '\n');
    }),
  );

program
  .command('export')
  .description('CSV of the journal: decisions, orders or fills (oldest first)')
  .argument('<what>', 'decisions | orders | fills')
  .option('--since <when>', '30m, 2h, 1d or an ISO date', sinceArg)
  .option('-o, --out <file>', 'write to this file (0600) instead of stdout')
  .action(
    action(async (what: string, o: { since?: string; out?: string }) => {
      const { exportCommand } = await import('./commands/export.js');
      return exportCommand(await ctx('warn', existing), what, o);
    }),
  );

program
  .command('pause')
  .description('kill switch ON: a running client skips every signal from its next decision on')
  .option('--reason <text>', 'why (shown in status)')
  .action(
    action(async (o: { reason?: string }) => {
      const { pauseCommand } = await import('./commands/inspect.js');
      process.stdout.write(pauseCommand(await ctx('warn', existing), o.reason) + '\n');
    }),
  );

program
  .command('resume')
  .description('kill switch OFF')
  .option('--accept-new-epoch', 'also clear a halt caused by a server epoch change (resets the cursor)')
  .action(
    action(async (o: { acceptNewEpoch?: boolean }) => {
      const { resumeCommand } = await import('./commands/inspect.js');
      process.stdout.write(resumeCommand(await ctx('warn', existing), o) + '\n');
    }),
  );

program
  .command('notify')
  .description('notification targets (config notify:)')
  .command('test')
  .description('send one test message to every notify target and report what each answered')
  .action(
    action(async () => {
      const { notifyTestCommand } = await import('./commands/notify.js');
      const r = await notifyTestCommand(await ctx('warn'));
      process.stdout.write(terminalText(r.report) + '\n');
      return r.ok ? 0 : 1;
    }),
  );

program
  .command('replay')
  .description('run server history through the decision pipeline in paper mode (throwaway journal)')
  .option('--since <when>', '30m, 2h, 1d or an ISO date', sinceArg)
  .option('--from-seq <n>', 'start after this seq (0: from the start)', wholeNumber(0), 0)
  .option('--json', 'machine-readable report')
  .action(
    action(async (o: { since?: string; fromSeq?: number; json?: boolean }) => {
      const { replayCommand } = await import('./commands/replay.js');
      process.stdout.write(terminalText(await replayCommand(await ctx('warn'), o)) + '\n');
    }),
  );

program
  .command('backtest')
  .description(
    "the server's history through one or more configs' decisions, fills simulated on 1-minute bars (your Alpaca data keys)",
  )
  .requiredOption('--from <date>', 'first New York day (2026-11-23) or an ISO instant')
  .requiredOption('--to <date>', 'last New York day (included) or an ISO instant (excluded)')
  .option('--json <file>', 'write the full report as JSON')
  .option('--html <file>', 'write a self-contained HTML report (equity curve, breakdowns)')
  .option('--benchmark <symbol>', 'buy-and-hold benchmark over the window', 'IWM')
  .addHelpText(
    'after',
    '\nTwo configs side by side: catalyst-client -c strict.yaml -c loose.yaml backtest --from 2026-11-02 --to 2026-11-27\n(each beside "every enter signal, no filters" and the benchmark; docs/backtest.md).',
  )
  .action(
    action(async (o: { from: string; to: string; json?: string; html?: string; benchmark: string }) => {
      const { backtestCommand } = await import('./commands/backtest.js');
      const text = await backtestCommand(await ctx('warn'), { ...o, configs: configPaths() });
      process.stdout.write(terminalText(text) + '\n');
    }),
  );

const logCmd = program
  .command('log')
  .description("the server's transparency log: re-verify the journal, write a proof, check evidence");
logCmd
  .command('verify')
  .description("prove every journaled signal in the server's log again, from scratch")
  .action(
    action(async () => {
      const { logVerifyCommand } = await import('./commands/log.js');
      const say = (l: string) => void process.stderr.write(`${l}\n`);
      process.stdout.write(terminalText(await logVerifyCommand(await ctx('warn', existing), say)) + '\n');
    }),
  );
logCmd
  .command('proof')
  .description("write one signal's C2SP tlog-proof file (checked against the pinned key first)")
  .argument('<seq>', 'the signal seq', wholeNumber(1))
  .option('--out <file>', 'where to write it (default tlog-proof-<seq>.txt)')
  .action(
    action(async (seq: number, o: { out?: string }) => {
      const { logProofCommand } = await import('./commands/log.js');
      process.stdout.write(
        terminalText(await logProofCommand(await ctx('warn', existing), seq, o.out)) + '\n',
      );
    }),
  );
logCmd
  .command('witness-key')
  .description(
    "print this client's witness verifier key (made on first use) for the server operator's log.witnesses and friends' witness_policy",
  )
  .action(
    action(async () => {
      const { logWitnessKeyCommand } = await import('./commands/log.js');
      process.stdout.write(logWitnessKeyCommand(await ctx('warn')) + '\n');
    }),
  );
logCmd
  .command('verify-evidence')
  .description('check an evidence file a halted client wrote, offline (exit 0: it holds, 1: it does not)')
  .argument('<file>', 'the tlog-evidence-*.json file')
  .option('--vkey <key>', "the log's verifier key to check with (default: the one the file names)")
  .action(
    action(async (file: string, o: { vkey?: string }) => {
      const { logVerifyEvidenceCommand } = await import('./commands/log.js');
      const r = logVerifyEvidenceCommand(file, o.vkey);
      process.stdout.write(terminalText(r.text) + '\n');
      return r.code;
    }),
  );

const trackRecordCmd = program
  .command('track-record')
  .description("the server's track record: outcomes of every us_equity signal (docs/outcomes.md)");
trackRecordCmd
  .command('verify')
  .description(
    'recompute a sample of the outcomes the server serves from your journaled signals and your own Alpaca data keys (exit 0: all match, 1: a mismatch)',
  )
  .option('--sample <n>', 'how many journaled signals to check', wholeNumber(1, 10_000), 20)
  .option(
    '--seed <s>',
    'seed of the sample (printed; the same seed draws the same signals)',
    wholeNumber(0, 2 ** 31),
  )
  .option('--benchmark <symbol>', "the server's outcomes.benchmark (for abnormal returns)", 'IWM')
  .action(
    action(async (o: { sample: number; seed?: number; benchmark: string }) => {
      const { trackRecordVerifyCommand } = await import('./commands/track-record.js');
      const r = await trackRecordVerifyCommand(await ctx('warn', existing), {
        sample: o.sample,
        seed: o.seed,
        benchmark: o.benchmark.toUpperCase(),
      });
      process.stdout.write(terminalText(r.text) + '\n');
      return r.code;
    }),
  );

program
  .command('config-reference')
  .description('print the Markdown reference of every config key')
  .action(
    action(async () => {
      const { renderConfigReference } = await import('./config.js');
      process.stdout.write(renderConfigReference() + '\n');
    }),
  );

await program.parseAsync(process.argv);
