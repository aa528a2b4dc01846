import { Connection, FatalStreamError } from '../connection.js';
import { reportConnection } from '../connection-report.js';
import { writePresence } from '../presence.js';
import type { Context } from '../context.js';
import { AccountNotTradable } from '../exchange/account-guard.js';
import { createVenue, type VenueDriver } from '../venue/index.js';
import { reportMarketClock } from '../market-clock-report.js';
import { Executor } from '../executor.js';
import { exchangeKeyEnvs } from '../config.js';
import { Journal } from '../journal/index.js';
import { JournalLockedError, lockJournal, type JournalLock } from '../journal/lock.js';
import { KeyPinError, pinnedOrFetch, serverKeyStatus } from '../keys.js';
import { processSignal } from '../pipeline.js';
import { AtOpen } from '../at-open.js';
import { Approvals } from '../approvals.js';
import { WorkingOrders } from '../working-orders.js';
import { streamUrl } from '../http.js';
import { formatOutcome } from '../report.js';
import { SUPPORTED_PROTOCOLS_WITH_LOG, terminalText } from '@catalyst-signal/shared';
import { createVerifier } from '../verify.js';
import type { DashboardServer } from '../dashboard/server.js';
import { marketTime } from '../decide/index.js';
import { announceDashboard } from '../dashboard-link.js';
import { ACCEPT_EPOCH, type Recovery } from '../recovery.js';
import { EXIT, LogHalted, RunRefused, TradingStopped } from '../errors.js';
import { startNotifications, type Notifier } from '../notify/engine.js';
import { reportHalt } from '../notify/halt.js';
import { followBroker, type Follower } from '../follow.js';
import { startGossip } from '../log-gossip.js';
import { LogMisbehaviour, ProofTimeout, logProver } from '../log-verify.js';
import { Witness, defaultWitnessName, loadWitnessKey } from '../log-witness.js';
import { WitnessPolicy } from '../log-policy.js';
import { WITNESS_POLICY_META, watchWitnessPolicy } from '../notify/witness-watch.js';

/**
 * `catalyst-client run`: reconcile, connect, decide, execute, until a signal or a fatal condition.
 * Real money needs BOTH `mode: live` in the config AND `--live` on the command line.
 */

export { RunRefused, TradingStopped };

/** What a person does after each fatal stream condition before trading can start again. */
export function fatalRecovery(e: Error, keyEnv: string): Recovery {
  if (e instanceof ProofTimeout)
    return {
      first:
        "the server's transparency log signed no checkpoint covering the signal in time: ask its operator, or set log.verify: off to trade on per-signal signatures alone",
      commands: ['run'],
    };
  const code = e instanceof FatalStreamError ? e.code : 'apply_failed';
  switch (code) {
    case 'epoch_changed':
    case 'future':
      return ACCEPT_EPOCH;
    case 'auth':
      return {
        first: `get a valid read key from the server operator and set ${keyEnv} in .env`,
        commands: ['check', 'run'],
      };
    case 'protocol':
      return { first: 'upgrade catalyst-client', commands: ['check', 'run'] };
    case 'clock_skew':
      return {
        first: "correct this machine's clock (e.g. sudo timedatectl set-ntp true)",
        commands: ['check', 'run'],
      };
    case 'bad_signature':
      return {
        first:
          'if the operator announced a signing key rotation, re-pin it (`pin --replace --fingerprint <fp>`) first',
        commands: ['run'],
      };
    default:
      return { first: 'fix the cause above', commands: ['run'] };
  }
}

export interface Engine {
  /** Resolves with the exit code once the engine has stopped. */
  done: Promise<number>;
  stop(reason: string): Promise<void>;
  connection: Connection;
  /** How signals were proven in the transparency log (frames / REST), when it is checked. */
  logStats?: { framed: number; rest: number; frames: number } | undefined;
  /** The local dashboard, when `--dashboard` or config dashboard.enabled. */
  dashboard?: DashboardServer | undefined;
  /** Set when a fatal stream condition stopped trading (done resolves 3). */
  stopped?: TradingStopped | undefined;
  /** The journal's cursor seq when the engine closed it (the next run resumes after it). */
  cursorAtStop?: number | undefined;
  /** Notification delivery; outlives stop() so a halt can still be told (reportHalt). */
  notifier?: Notifier | undefined;
  /** The broker's order events, followed (venues with a stream: Alpaca live); see follow.ts. */
  broker?: Follower | undefined;
}

export interface EngineOptions {
  live?: boolean | undefined;
  /** Receives one readable line per decided signal (stdout for `run`). */
  report?: ((line: string) => void) | undefined;
  /** Receives readable connection lines (connected, lost, retrying): `run` without --json. */
  status?: ((line: string) => void) | undefined;
  /** The connection logs only errors (a terminal shows the status lines instead of JSON warnings). */
  quietConnectionLog?: boolean | undefined;
  /** Also serve the local dashboard (config dashboard.enabled does the same). */
  dashboard?: boolean | undefined;
  /** Receives the dashboard's URL line, or where its file is when stdout is not a terminal (even with --json). */
  say?: ((line: string) => void) | undefined;
}

export async function startEngine(ctx: Context, opts: EngineOptions): Promise<Engine> {
  const { config, secrets, log } = ctx;
  if (opts.live && config.mode !== 'live')
    throw new RunRefused('--live needs `mode: live` in the config as well');
  const live = Boolean(opts.live) && config.mode === 'live';
  if (config.mode === 'live' && !opts.live)
    log.warn('config says live but --live was not given: running in PAPER mode');
  if (!secrets.serverKey) throw new RunRefused(`${config.server.key_env} is not set (environment or .env)`);
  if (live && !(secrets.exchangeApiKey && secrets.exchangeSecret)) {
    const names = exchangeKeyEnvs(config.exchange);
    throw new RunRefused(`live mode needs ${names.apiKey} and ${names.secret}`);
  }

  // One runner per journal (kernel lock, held until stop or process death): a second `run` is refused here.
  let lock: JournalLock;
  try {
    lock = lockJournal(ctx.journalPath);
  } catch (e) {
    throw e instanceof JournalLockedError ? new RunRefused(e.message) : e;
  }
  let journal: Journal;
  try {
    journal = Journal.open(ctx.journalPath);
  } catch (e) {
    lock.release();
    throw e;
  }
  const halted = journal.halted();
  if (halted) {
    journal.close();
    lock.release();
    throw new RunRefused(`HALTED: ${halted}`, ACCEPT_EPOCH);
  }
  let venue: VenueDriver | undefined;
  let dashboard: DashboardServer | undefined;
  let forgetDashboardLink = () => undefined as void;
  try {
    // Compare the server's current key with the pin at every start; offline, the pin alone is enough.
    const key = await serverKeyStatus(config, journal).catch((e: Error) => {
      if (e instanceof KeyPinError) throw e;
      log.warn({ err: e.message }, 'cannot fetch the server signing key now; using the pinned one');
      return pinnedOrFetch(config, journal).catch((e2: Error) => {
        if (e2 instanceof KeyPinError) throw e2;
        // No pin and no server: the message names the URL and why (ECONNREFUSED, DNS, certificate...).
        throw new Error(
          `cannot start: no server signing key pinned yet and the server is unreachable: ${e2.message}`,
        );
      });
    });
    const verify = await createVerifier(key.jwk);
    venue = await createVenue({ config, secrets, journal, log, live });
    const { exchange } = venue;
    // A blocked broker account (Alpaca: trading_blocked, account_blocked...) refuses every order: exit 4 now.
    if (live)
      await venue.assertTradable?.().catch((e: Error) => {
        throw e instanceof AccountNotTradable ? new RunRefused(e.message) : e;
      });
    const markets = await exchange.loadMarkets().catch((e: Error) => {
      if (live) throw e;
      return { loaded: false, count: 0, error: e.message };
    });
    log.info(
      { mode: live ? 'LIVE' : 'paper', exchange: config.exchange.id ?? null, markets, key: key.fingerprint },
      'starting',
    );
    const executor = new Executor(journal, exchange, config, log);
    const rec = await executor.reconcileAll();
    if (rec.checked) log.info(rec, 'reconciled unfinished orders');
    // The broker's order events, streamed or polled, and caught up (follow.ts); absent on paper venues.
    const following = followBroker({ venue, journal, log });
    // Positions against the broker's (live us_equity), once the unfinished orders are settled: at start, then on
    // the timer below. An incident is journaled and logged; the symbol waits for `incidents --ack`.
    const reconcilePositions = () =>
      void venue
        ?.reconcilePositions?.(Date.now())
        .catch((e: Error) =>
          log.warn({ err: e.message }, 'position reconciliation failed; retried on the timer'),
        );
    if (venue.adoptOutside) {
      // Adopt only what the journal cannot explain once it has caught up: a fill missed while down is ours, not outside.
      await following?.ready;
      venue.adoptOutside(Date.now());
    }
    reconcilePositions();

    const now = Date.now;
    const mc = venue.marketClock;
    if (opts.dashboard || config.dashboard.enabled) {
      // Lazily imported: a run without the dashboard never loads it. It opens its own journal connection.
      const { startDashboard } = await import('../dashboard/server.js');
      dashboard = await startDashboard({
        config,
        journalPath: ctx.journalPath,
        log,
        password: secrets.dashboardPassword,
        live,
        marketNow: mc ? () => marketTime(mc.clock, mc.origin, Date.now()) : undefined,
      });
      if (opts.say) forgetDashboardLink = announceDashboard(dashboard.url, ctx.dataDir, opts.say);
    }
    const deps = { config, journal, venue, executor, log, now };
    // A venue with sessions: held signals decided again and protection placed once the regular session is open.
    const atOpen = new AtOpen(deps, opts.report);
    const lookAtOpen = () =>
      void atOpen.check().catch((e: Error) => log.warn({ err: e.message }, 'open check failed'));
    lookAtOpen();
    // Approval mode: answered (or expired) entries settled within a second, and at once on a dashboard answer.
    const approvals = new Approvals(deps, opts.report);
    let approving: Promise<unknown> | undefined;
    const lookAtApprovals = () =>
      void (approving ??= approvals
        .check()
        .catch((e: Error) => log.warn({ err: e.message }, 'approval check failed'))
        .finally(() => (approving = undefined)));
    lookAtApprovals();
    const approvalTimer = setInterval(lookAtApprovals, 1000);
    approvalTimer.unref();
    const notifications = startNotifications(ctx, journal, live);
    const witness = config.log.witness.enabled
      ? new Witness(
          loadWitnessKey(
            ctx.dataDir,
            config.log.witness.key_file,
            config.log.witness.name ?? defaultWitnessName(),
          ),
        )
      : undefined;
    if (witness)
      log.info({ vkey: witness.vkey }, 'transparency log: cosigning verified checkpoints as a witness');
    const policy = config.log.witness_policy && new WitnessPolicy(config.log.witness_policy);
    // A verdict from an earlier run with a policy is not this run's: status shows none.
    if (!policy) journal.setMeta(WITNESS_POLICY_META, undefined);
    const prove = logProver({
      config,
      key: secrets.serverKey,
      jwkX: (key.jwk as { x?: string }).x ?? '',
      journal,
      evidenceDir: ctx.dataDir,
      log,
      onCheckpoint:
        witness || policy
          ? (c, reply) => {
              policy?.observe(c.note, c.size, Date.now());
              const f = witness?.cosign(c.note, c.size);
              if (f) reply(f);
            }
          : undefined,
    });
    const unwatchPolicy =
      policy &&
      watchWitnessPolicy({
        policy,
        notifier: notifications.notifier,
        log,
        setMeta: (k, v) => journal.setMeta(k, v),
        everyMs: Math.min(1000, Math.max(100, Math.floor(config.log.witness_policy!.within_ms / 4))),
      });
    // Several gateways: their checkpoints compared at start (before any signal is applied) and on a timer.
    const gossip =
      prove && (config.server.urls?.length ?? 0) > 1 && config.log.gossip_interval_ms > 0
        ? startGossip({
            baseUrls: config.server.urls!,
            key: secrets.serverKey,
            jwkX: (key.jwk as { x?: string }).x ?? '',
            evidenceDir: ctx.dataDir,
            log,
            intervalMs: config.log.gossip_interval_ms,
            onFailure: (e) => connection.core.fail('apply_failed', e.message, e),
          })
        : undefined;
    const connection = new Connection({
      baseUrl: config.server.url,
      baseUrls: config.server.urls,
      key: secrets.serverKey,
      server: config.server,
      // A client that proves signals in the log can follow a server with per-signal signatures off (protocol 3).
      supportedProtocols: prove ? SUPPORTED_PROTOCOLS_WITH_LOG : undefined,
      verify,
      prove: prove && (gossip ? (s) => gossip.first.then(() => prove.prove(s)) : prove.prove),
      // What a checkpoint frame proves wrong halts at once, through the same fatal path as a failed proof.
      checkpoints: prove?.checkpoints((e) => connection.core.fail('apply_failed', e.message, e)),
      cursor: journal,
      log: opts.quietConnectionLog ? log.child({}, { level: 'error' }) : log,
      apply: async (signal, verified, receivedAt) => {
        const outcome = await processSignal(deps, signal, verified, receivedAt);
        opts.report?.(formatOutcome(signal, outcome, !live, config.exchange.quote.toUpperCase()));
        lookAtOpen();
      },
    });
    connection.on('heartbeat', lookAtOpen);
    notifications.watch(connection);
    const presence = writePresence(journal, connection, { mode: live ? 'live' : 'paper' });
    // Each simulated session change is also a look at the open: the simulated open may come between two timer ticks.
    const clockLines = mc
      ? reportMarketClock(mc.clock, mc.origin, now, (line) => {
          opts.status?.(line);
          lookAtOpen();
        })
      : undefined;
    if (opts.status)
      reportConnection(connection, streamUrl(config.server.url), () => journal.cursor().seq, opts.status);
    // Limit orders and unresolved sends get a periodic second look.
    const reconcileTimer = setInterval(() => {
      if (journal.openIntents().length)
        void executor.reconcileAll().catch((e: Error) => log.warn({ err: e.message }, 'reconcile failed'));
      reconcilePositions();
      lookAtOpen();
    }, 30_000);
    reconcileTimer.unref();
    // Paper: the simulated broker's prices move between signals, resting orders fill, and the journal follows.
    // One step at a time; `stop` waits for the one in flight before the journal closes.
    let ticking: Promise<unknown> | undefined;
    const paperTimer = exchange.tick
      ? setInterval(() => {
          ticking ??= exchange.tick!(Date.now())
            .then((changed) => (changed ? executor.reconcileAll() : undefined))
            .catch((e: Error) => log.warn({ err: e.message }, 'paper price step failed'))
            .finally(() => (ticking = undefined));
        }, config.paper.tick_ms)
      : undefined;
    paperTimer?.unref();
    // Working orders: unfilled extended-hours limits are replaced toward the quote, then cancelled.
    const working = new WorkingOrders({ journal, config, log, exchange, now, report: opts.report });
    let workRun: Promise<unknown> | undefined;
    const workTimer =
      exchange.replaceOrder && config.equities.max_reprices > 0
        ? setInterval(
            () =>
              (workRun ??= working
                .check()
                .then((n) => (n ? executor.reconcileAll() : undefined))
                .catch((e: Error) => log.warn({ err: e.message }, 'working orders check failed'))
                .finally(() => (workRun = undefined))),
            Math.min(30_000, Math.max(1000, config.equities.reprice_after_ms / 4)),
          )
        : undefined;
    workTimer?.unref();

    let resolveDone!: (code: number) => void;
    const done = new Promise<number>((r) => (resolveDone = r));
    let closing: Promise<void> | undefined;
    const ex = exchange;
    const stop = (reason: string, code = 0): Promise<void> =>
      (closing ??= (async () => {
        log.info({ reason }, 'stopping');
        clearInterval(reconcileTimer);
        unwatchPolicy?.();
        clearInterval(paperTimer);
        clearInterval(workTimer);
        clearInterval(approvalTimer);
        clockLines?.stop();
        prove?.stop();
        gossip?.stop();
        await connection.stop();
        await following?.close();
        presence.stop();
        await ticking;
        await workRun;
        await approving;
        await dashboard?.close();
        forgetDashboardLink();
        await ex.close().catch(() => undefined);
        notifications.detach();
        engine.cursorAtStop = journal.cursor().seq;
        journal.close();
        lock.release();
        log.info('stopped; cursor persisted');
        resolveDone(code);
      })());
    const engine: Engine = {
      done,
      stop: (r) => stop(r),
      connection,
      dashboard,
      notifier: notifications.notifier,
      broker: following,
      logStats: prove?.stats,
    };
    connection.on('fatal', (e: Error) => {
      if (e instanceof FatalStreamError && (e.code === 'epoch_changed' || e.code === 'future'))
        journal.setHalted(e.message);
      if (e instanceof LogMisbehaviour) {
        engine.stopped = new LogHalted(`TRADING HALTED: ${e.message}`, e.evidencePath, {
          first: `give the evidence to the server operator and your friends${e.evidencePath ? ` (anyone can check it: catalyst-client log verify-evidence ${e.evidencePath})` : ''}; this journal keeps the checkpoint it verified, so trading resumes only once the server serves a history consistent with it (or with log.verify: off)`,
          commands: ['run'],
        });
        log.fatal(
          { err: e.message, evidence: e.evidencePath, claim: e.evidence.claim },
          'TRADING HALTED: transparency log',
        );
        void stop(`fatal: ${e.message}`, EXIT.logMisbehaved);
        return;
      }
      engine.stopped = new TradingStopped(
        `TRADING STOPPED: ${e.message}`,
        fatalRecovery(e, config.server.key_env),
      );
      log.fatal({ err: e.message, recovery: engine.stopped.recovery }, 'TRADING STOPPED');
      void stop(`fatal: ${e.message}`, EXIT.stopped);
    });
    connection.start();
    return engine;
  } catch (e) {
    await dashboard?.close();
    await venue?.exchange.close().catch(() => undefined);
    journal.close();
    lock.release();
    throw e;
  }
}

export async function runCommand(
  ctx: Context,
  opts: {
    live?: boolean | undefined;
    json?: boolean | undefined;
    logLevel?: string | undefined;
    dashboard?: boolean | undefined;
  },
): Promise<number> {
  // Status lines quote servers and brokers: nothing they send may reach the terminal as a control sequence.
  const report = (line: string) => void process.stdout.write(`${terminalText(line)}\n`);
  // Handlers first: whoever reads the dashboard line may signal us before startEngine returns. A signal during
  // start stops the engine as soon as it is up; a second one meets the default handler (the process ends).
  let engine: Engine | undefined = undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    stoppedBy ??= sig;
    void engine?.stop(sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    engine = await startEngine(ctx, {
      live: opts.live,
      report,
      dashboard: opts.dashboard,
      say: report,
      // --json: the JSON log on stderr is the only account of the connection (supervisors, log shippers).
      status: opts.json ? undefined : report,
      quietConnectionLog: !opts.json && !opts.logLevel && process.stderr.isTTY,
    });
  } catch (e) {
    await reportHalt(ctx, e); // exit 4 or 5: told and journaled before the CLI exits
    throw e;
  }
  let decided = 0;
  engine.connection.on('applied', () => decided++);
  if (stoppedBy) void engine.stop(stoppedBy);
  const code = await engine.done;
  if (engine.stopped) {
    await reportHalt(ctx, engine.stopped, engine.notifier);
    engine.notifier?.close();
    throw engine.stopped; // exit 3, with the recovery commands on stderr
  }
  // What the last moments journaled (a fill, a refusal) still gets out, within the halt's bound.
  await engine.notifier?.flush(ctx.config.notify_options.halt_wait_ms);
  engine.notifier?.close();
  // The person who pressed Ctrl-C (or a supervisor's SIGTERM) learns what this run did and where the next starts.
  if (stoppedBy && !opts.json)
    report(
      `${process.stdout.isTTY ? '\n' : ''}stopped (${stoppedBy === 'SIGINT' ? 'Ctrl-C' : stoppedBy}): ${decided} signal${decided === 1 ? '' : 's'} decided, the next run resumes after seq ${engine.cursorAtStop ?? '?'}`,
    );
  return code;
}
