import type { StatusFrame, StatusReplica } from '@catalyst-signal/shared';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { readDbSize, readSample } from './read-metrics.js';
import { RecentSignals } from './recent.js';
import { buildSnapshot, type LogView, type SocketView } from './snapshot.js';
import { SampleWindow } from './window.js';

/** What the hub needs from the stream (ws/ implements it; the hub never touches a socket). */
export interface StatusSink {
  /** Sockets watching status right now (0: nothing is built or sent). */
  watchers(): number;
  /** Every open socket, as the registry sees it. */
  sockets(): Iterable<SocketView>;
  /** Send one serialised status frame to every watcher. */
  send(json: string): void;
}

export interface StatusHubOptions {
  metrics: Metrics;
  position: () => LogView;
  /** A gateway's or both-node's replica of the cluster log (what it applied, the log's head); absent: none. */
  replica?: (() => StatusReplica | undefined) | undefined;
  serverId: string;
  startedAt: number;
  /** Push interval (and sampling interval) in ms. */
  intervalMs?: number;
  /** Shortest gap between two pushes caused by connects/disconnects. */
  minGapMs?: number;
  now?: () => number;
  log?: Logger | undefined;
}

const WINDOW_MS = 60_000;
const SERIES_STEP_MS = 10_000;
/** The series covers 60 steps of 10 s: keep 10 minutes of samples plus one window before the oldest point. */
const RETAIN_MS = 60 * SERIES_STEP_MS + WINDOW_MS;

/**
 * Samples the metrics once a second (always: the sparkline then has history when someone opens the page),
 * and while anyone watches, builds one status frame per tick, serialises it once and sends it to all
 * watchers. A connect or disconnect pushes at once (at most one push per minGapMs), so the table follows.
 */
export class StatusHub {
  readonly recent = new RecentSignals();
  private readonly samples = new SampleWindow(RETAIN_MS, RETAIN_MS / 500);
  private readonly timer: NodeJS.Timeout;
  private sink: StatusSink | undefined;
  private pokeTimer: NodeJS.Timeout | undefined;
  private lastPush = 0;
  private busy = false;
  private stopped = false;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly minGapMs: number;

  constructor(private readonly o: StatusHubOptions) {
    this.now = o.now ?? Date.now;
    this.intervalMs = o.intervalMs ?? 1000;
    this.minGapMs = o.minGapMs ?? 100;
    this.timer = setInterval(() => this.run(true), this.intervalMs);
    this.timer.unref();
  }

  attach(sink: StatusSink): void {
    this.sink = sink;
  }

  /** Something changed that the page shows (a socket opened, authenticated or closed): push soon. */
  poke(): void {
    if (this.stopped || this.pokeTimer || !this.sink?.watchers()) return;
    const wait = Math.max(0, this.lastPush + this.minGapMs - this.now());
    this.pokeTimer = setTimeout(() => {
      this.pokeTimer = undefined;
      this.run(false);
    }, wait);
    this.pokeTimer.unref();
  }

  /** The frame as it would be sent now (also used for the first frame a new watcher gets). */
  async snapshot(): Promise<StatusFrame> {
    const now = this.now();
    const dbSizeBytes = await readDbSize(this.o.metrics);
    return buildSnapshot({
      now,
      startedAt: this.o.startedAt,
      serverId: this.o.serverId,
      log: this.o.position(),
      dbSizeBytes,
      sockets: this.sink?.sockets() ?? [],
      samples: this.samples,
      windowMs: WINDOW_MS,
      seriesStepMs: SERIES_STEP_MS,
      recent: this.recent.list(),
      replica: this.o.replica?.(),
    });
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.pokeTimer);
  }

  private run(sample: boolean): void {
    // A status that cannot be built is logged, never a crash of the server it describes.
    this.tick(sample).catch((err: unknown) => this.o.log?.warn({ err }, 'status frame failed'));
  }

  private async tick(sample: boolean): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      if (!sample) this.poke(); // a push was asked for while a tick runs: do it after
      return;
    }
    this.busy = true;
    try {
      if (sample) this.samples.add(await readSample(this.o.metrics, this.now()));
      if (this.stopped || !this.sink?.watchers()) return;
      const frame = await this.snapshot();
      if (this.stopped) return;
      this.lastPush = this.now();
      this.sink.send(JSON.stringify(frame));
    } finally {
      this.busy = false;
    }
  }
}
