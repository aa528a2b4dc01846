import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Context } from '../../src/context.js';
import { startEngine, type Engine } from '../../src/commands/run.js';
import { testLog } from './logger.js';

/**
 * The real `run` engine (commands/run.ts startEngine: journal, key pin, exchange, reconcile, connection,
 * pipeline, executor) in the test process, with a timestamped record of its connection's events so tests
 * can measure detection times. Stopped in the running test's teardown.
 */

export interface EngineEvent {
  at: number;
  type:
    | 'hello'
    | 'heartbeat'
    | 'subscribed'
    | 'applied'
    | 'reconnecting'
    | 'silence'
    | 'gap'
    | 'fatal'
    | 'caught_up';
  detail?: unknown;
}

export interface TestEngine {
  engine: Engine;
  journalPath: string;
  events: EngineEvent[];
  /** seq of every `applied` event, in order (a seq applied twice shows up twice). */
  applied: number[];
  /** Resolves with the exit code when the engine stops by itself (fatal), undefined while running. */
  exitCode(): number | undefined;
  stop(): Promise<void>;
}

export async function startTestEngine(o: {
  dir: string;
  config: object;
  serverKey: string;
  exchangeKeys?: { apiKey: string; secret: string };
  live?: boolean;
  /** false: the caller stops it (an engine started in beforeAll outlives one test). */
  stopAfterTest?: boolean;
}): Promise<TestEngine> {
  const config = parseConfig(o.config);
  const ctx: Context = {
    configPath: join(o.dir, 'catalyst.yaml'),
    config,
    secrets: {
      serverKey: o.serverKey,
      exchangeApiKey: o.exchangeKeys?.apiKey,
      exchangeSecret: o.exchangeKeys?.secret,
      exchangePassword: undefined,
    },
    dataDir: o.dir,
    journalPath: join(o.dir, 'journal.sqlite'),
    log: testLog,
  };
  const engine = await startEngine(ctx, { live: o.live });
  const events: EngineEvent[] = [];
  const applied: number[] = [];
  const c = engine.connection;
  const on = (type: EngineEvent['type']) =>
    c.on(type, (detail: unknown) => events.push({ at: Date.now(), type, detail }));
  for (const t of [
    'hello',
    'heartbeat',
    'subscribed',
    'reconnecting',
    'silence',
    'gap',
    'fatal',
    'caught_up',
  ] as const)
    on(t);
  c.on('applied', (seq: number) => {
    applied.push(seq);
    events.push({ at: Date.now(), type: 'applied', detail: seq });
  });
  let code: number | undefined;
  void engine.done.then((x) => (code = x));
  const stop = () => engine.stop('test done');
  if (o.stopAfterTest !== false) onTestFinished(stop);
  return { engine, journalPath: ctx.journalPath, events, applied, exitCode: () => code, stop };
}
