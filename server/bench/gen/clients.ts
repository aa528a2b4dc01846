/**
 * The subscribers of one generator process: raw sockets speaking just enough WebSocket (and Engine.IO v4 /
 * Socket.IO for the Socket.IO peer). Every frame is counted and its seq checked for contiguity (found with a
 * byte search, no JSON.parse); every `sampleEvery`-th client also parses and validates each frame fully.
 */
import { connect, type Socket } from 'node:net';
import { encodeHistogram, newHistogram, type Histogram } from './histogram.js';
import {
  nowUs,
  type ConnectResult,
  type ConnectSpec,
  type CountResult,
  type FailoverResult,
  type ResumeResult,
  type WindowReport,
} from './protocol.js';
import {
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  clientFrame,
  readFrames,
  textFrame,
  upgradeRequest,
} from './ws-frame.js';

const SEQ = Buffer.from('"seq":');
const T = Buffer.from('"t":');
const SIGNAL_KEY = Buffer.from('"signal":{');
const WS_SIGNAL = Buffer.from('{"type":"signal"');
const SIO_SIGNAL = Buffer.from('42["signal",');
const HEADERS_END = Buffer.from('\r\n\r\n');
const CONNECT_PARALLEL = 200;
const CONNECT_TIMEOUT_MS = 30_000;
const MAX_WINDOW_SEQS = 1 << 22;

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  return (
    buf.length - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
  );
}

function readInt(buf: Buffer, at: number, end: number): number {
  let v = 0;
  for (let k = at; k < end; k++) {
    const c = buf[k]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + c - 48;
  }
  return v;
}

class Conn {
  socket: Socket | null = null;
  pending: Buffer | null = null;
  head: Buffer | null = Buffer.alloc(0);
  ready = false;
  dropped = false;
  caughtUp = false;
  failedOver = false;
  lastSeq = 0;
  epoch = '';
  sid = '';
  prevSid = '';
  pid = '';
  offset = '';
  onReady: ((err?: Error) => void) | null = null;
  constructor(
    readonly index: number,
    readonly sample: boolean,
  ) {}
}

class Window {
  delivered = 0;
  dups = 0;
  gaps = 0;
  otherFrames = 0;
  sampledFrames = 0;
  invalidFrames = 0;
  unrecovered = 0;
  disconnects = 0;
  errors: string[] = [];
  hist: Histogram = newHistogram();
  lastAt = new Float64Array(1024);
  countAt = new Uint32Array(1024);
  maxIdx = -1;
  readonly cpu0 = process.cpuUsage();
  readonly wall0 = nowUs();
  constructor(readonly fromSeq: number) {}

  error(msg: string): void {
    if (this.errors.length < 5) this.errors.push(msg);
  }

  arrive(seq: number, t: number, now: number): void {
    this.delivered++;
    if (t > 0) this.hist.recordValue(Math.max(1, now - t));
    const idx = seq - this.fromSeq;
    if (idx >= MAX_WINDOW_SEQS) return;
    if (idx >= this.lastAt.length) {
      let size = this.lastAt.length;
      while (size <= idx) size *= 2;
      const lastAt = new Float64Array(size);
      lastAt.set(this.lastAt);
      const countAt = new Uint32Array(size);
      countAt.set(this.countAt);
      this.lastAt = lastAt;
      this.countAt = countAt;
    }
    if (now > this.lastAt[idx]!) this.lastAt[idx] = now;
    this.countAt[idx]!++;
    if (idx > this.maxIdx) this.maxIdx = idx;
  }
}

export class ClientSet {
  private conns: Conn[] = [];
  private spec: ConnectSpec | null = null;
  private win = new Window(Number.MAX_SAFE_INTEGER);
  private resumeTarget = 0;
  private caughtUpCount = 0;
  /** Set by armFailover: a socket the server closes reconnects at once to this port (like a real client). */
  private failoverPort = 0;
  private failovers = 0;
  private lastCaughtUpAt = 0;
  private onAllCaughtUp: (() => void) | null = null;

  async connectAll(spec: ConnectSpec): Promise<ConnectResult> {
    this.spec = spec;
    const t0 = Date.now();
    for (let i = 0; i < spec.count; i++)
      this.conns.push(new Conn(spec.firstIndex + i, i % spec.sampleEvery === 0));
    return this.openAll(t0);
  }

  private async openAll(t0: number, timeoutMs = CONNECT_TIMEOUT_MS): Promise<ConnectResult> {
    let next = 0;
    let failed = 0;
    let firstError: string | undefined;
    const worker = async () => {
      while (next < this.conns.length) {
        const conn = this.conns[next++]!;
        try {
          await this.open(conn, timeoutMs);
        } catch (err) {
          failed++;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: CONNECT_PARALLEL }, worker));
    return { connected: this.conns.length - failed, failed, ms: Date.now() - t0, firstError };
  }

  private open(conn: Conn, timeoutMs: number): Promise<void> {
    const spec = this.spec!;
    conn.head = Buffer.alloc(0);
    conn.pending = null;
    conn.ready = false;
    conn.dropped = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('connect timeout')), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        conn.onReady = null;
        if (err) {
          socket.destroy();
          reject(err);
        } else resolve();
      };
      conn.onReady = done;
      const localAddress = `127.0.0.${2 + (conn.index % 250)}`;
      const socket = connect({ host: '127.0.0.1', port: spec.port, localAddress, noDelay: true });
      conn.socket = socket;
      const path = spec.kind === 'sio' ? '/socket.io/?EIO=4&transport=websocket' : '/v1/stream';
      socket.on('connect', () => socket.write(upgradeRequest(path, spec.token)));
      socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
      socket.on('error', (err) => conn.onReady?.(err));
      socket.on('close', () => {
        conn.onReady?.(new Error('closed before ready'));
        if (!conn.dropped && this.failoverPort && !conn.failedOver && conn.socket === socket) {
          this.failOver(conn);
          return;
        }
        if (!conn.dropped) {
          this.win.disconnects++;
          this.win.error(`client ${conn.index} disconnected (last seq ${conn.lastSeq})`);
        }
      });
    });
  }

  private onData(conn: Conn, chunk: Buffer): void {
    const now = nowUs();
    if (conn.head) {
      const all = Buffer.concat([conn.head, chunk]);
      const end = all.indexOf(HEADERS_END);
      if (end < 0) {
        conn.head = all;
        return;
      }
      conn.head = null;
      if (!startsWith(all, 0, Buffer.from('HTTP/1.1 101'))) {
        conn.onReady?.(new Error(`upgrade refused: ${all.subarray(0, end).toString().split('\r\n')[0]}`));
        return;
      }
      if (this.spec!.kind === 'ws') this.send(conn, this.subscribeFrame(conn, undefined));
      chunk = all.subarray(end + 4);
      if (chunk.length === 0) return;
    }
    conn.pending = readFrames(conn.pending, chunk, now, (op, buf, s, e, t) =>
      this.onFrame(conn, op, buf, s, e, t),
    );
  }

  private onFrame(conn: Conn, op: number, buf: Buffer, s: number, e: number, now: number): void {
    if (op === OP_TEXT) {
      if (this.spec!.kind === 'sio') this.onSioText(conn, buf, s, e, now);
      else if (startsWith(buf, s, WS_SIGNAL) || this.within(buf.indexOf(SIGNAL_KEY, s), e))
        this.onSignal(conn, buf, s, e, now);
      else this.onControl(conn, buf.toString('utf8', s, e));
    } else if (op === OP_PING) this.send(conn, clientFrame(OP_PONG, Buffer.from(buf.subarray(s, e))));
    else if (op === OP_CLOSE) {
      const code = e - s >= 2 ? buf.readUInt16BE(s) : 0;
      this.win.error(`close frame ${code} ${buf.toString('utf8', s + 2, e)}`);
    } else if (op !== OP_PONG) this.win.error(`unexpected frame opcode ${op}`);
  }

  private within(at: number, end: number): boolean {
    return at >= 0 && at < end;
  }

  private onSignal(conn: Conn, buf: Buffer, s: number, e: number, now: number): void {
    const w = this.win;
    const p = buf.indexOf(SEQ, s);
    if (!this.within(p, e)) {
      w.invalidFrames++;
      return;
    }
    const seq = readInt(buf, p + SEQ.length, e);
    if (conn.sample) this.validate(buf, s, e);
    if (seq <= conn.lastSeq) {
      w.dups++;
      return;
    }
    if (conn.lastSeq !== 0 && seq > conn.lastSeq + 1) w.gaps += seq - conn.lastSeq - 1;
    conn.lastSeq = seq;
    if (seq >= w.fromSeq) {
      const tp = buf.indexOf(T, s);
      w.arrive(seq, this.within(tp, e) ? readInt(buf, tp + T.length, e) : 0, now);
    }
    if (this.resumeTarget > 0 && !conn.caughtUp && seq >= this.resumeTarget) {
      conn.caughtUp = true;
      this.lastCaughtUpAt = now;
      if (++this.caughtUpCount === this.conns.length) this.onAllCaughtUp?.();
    }
  }

  private validate(buf: Buffer, s: number, e: number): void {
    const w = this.win;
    w.sampledFrames++;
    try {
      const text = buf.toString('utf8', s, e);
      const frame = (
        this.spec!.kind === 'sio' ? (JSON.parse(text.slice(2)) as unknown[])[1] : JSON.parse(text)
      ) as {
        type?: unknown;
        signal?: {
          seq?: unknown;
          epoch?: unknown;
          ingested_at?: unknown;
          source_id?: unknown;
          meta?: { t?: unknown };
        };
      };
      const sig = frame.signal;
      const ok =
        frame.type === 'signal' &&
        typeof sig?.seq === 'number' &&
        typeof sig.epoch === 'string' &&
        typeof sig.ingested_at === 'string' &&
        typeof sig.source_id === 'string' &&
        typeof sig.meta?.t === 'number';
      if (!ok) {
        w.invalidFrames++;
        w.error(`invalid signal frame: ${text.slice(0, 120)}`);
      }
    } catch {
      w.invalidFrames++;
    }
  }

  private onControl(conn: Conn, text: string): void {
    this.win.otherFrames++;
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.win.error(`not JSON: ${text.slice(0, 80)}`);
      return;
    }
    if (frame.type === 'hello') {
      conn.epoch = String(frame.epoch);
      this.send(conn, this.subscribeFrame(conn, Number(frame.head_seq)));
    } else if (frame.type === 'subscribed') {
      if (frame.recovered === false && this.spec!.kind === 'catalyst') {
        this.win.unrecovered++;
        this.win.error(`subscribed: recovered=false reason=${String(frame.reason)}`);
        conn.onReady?.();
      }
      if (this.spec!.kind === 'ws' || frame.replay_count === 0) conn.onReady?.();
    } else if (frame.type === 'caught_up') conn.onReady?.();
    else if (frame.type === 'error') this.win.error(`error frame: ${text.slice(0, 160)}`);
  }

  private subscribeFrame(conn: Conn, headSeq: number | undefined): Buffer {
    const resuming = (this.resumeTarget > 0 || conn.failedOver) && conn.lastSeq > 0;
    const from = resuming || headSeq === undefined ? conn.lastSeq : headSeq;
    const epoch = resuming && conn.epoch ? `,"epoch":${JSON.stringify(conn.epoch)}` : '';
    return textFrame(`{"type":"subscribe","from_seq":${from}${epoch}}`);
  }

  private onSioText(conn: Conn, buf: Buffer, s: number, e: number, now: number): void {
    if (startsWith(buf, s, SIO_SIGNAL)) {
      this.onSignal(conn, buf, s, e, now);
      const q = buf.lastIndexOf(0x22, e - 3);
      if (q > s) conn.offset = buf.toString('latin1', q + 1, e - 2);
      return;
    }
    this.win.otherFrames++;
    const text = buf.toString('utf8', s, e);
    if (text === '2') this.send(conn, textFrame('3'));
    else if (text.startsWith('0{')) {
      const resume = this.resumeTarget > 0 && conn.pid && conn.offset;
      this.send(
        conn,
        textFrame(resume ? `40${JSON.stringify({ pid: conn.pid, offset: conn.offset })}` : '40'),
      );
    } else if (text.startsWith('40{')) {
      const ack = JSON.parse(text.slice(2)) as { sid: string; pid?: string };
      conn.prevSid = conn.sid;
      conn.sid = ack.sid;
      if (ack.pid) conn.pid = ack.pid;
      if (this.resumeTarget > 0 && conn.prevSid !== conn.sid) this.win.unrecovered++;
      conn.onReady?.();
    } else if (text.startsWith('44')) conn.onReady?.(new Error(`connect_error ${text}`));
  }

  private send(conn: Conn, frame: Buffer): void {
    if (conn.socket && !conn.socket.destroyed) conn.socket.write(frame);
  }

  /** Start a measurement window: only signals with seq >= fromSeq count. */
  window(fromSeq: number): void {
    this.win = new Window(fromSeq);
  }

  count(): CountResult {
    let lastSeqMin = Number.MAX_SAFE_INTEGER;
    for (const c of this.conns) lastSeqMin = Math.min(lastSeqMin, c.lastSeq);
    return { delivered: this.win.delivered, lastSeqMin: this.conns.length ? lastSeqMin : 0 };
  }

  report(): WindowReport {
    const w = this.win;
    const cpu = process.cpuUsage(w.cpu0);
    let open = 0;
    for (const c of this.conns) if (c.socket && !c.socket.destroyed) open++;
    return {
      clients: this.conns.length,
      open,
      disconnects: w.disconnects,
      delivered: w.delivered,
      dups: w.dups,
      gaps: w.gaps,
      otherFrames: w.otherFrames,
      sampledFrames: w.sampledFrames,
      invalidFrames: w.invalidFrames,
      unrecovered: w.unrecovered,
      errors: w.errors,
      latency: encodeHistogram(w.hist),
      fromSeq: w.fromSeq,
      lastAt: Array.from(w.lastAt.subarray(0, w.maxIdx + 1)),
      countAt: Array.from(w.countAt.subarray(0, w.maxIdx + 1)),
      cpuUs: cpu.user + cpu.system,
      wallUs: nowUs() - w.wall0,
    };
  }

  /** Cut every socket without a close frame (what a network drop looks like); keep each client's position. */
  drop(): void {
    for (const c of this.conns) {
      c.dropped = true;
      c.socket?.destroy();
    }
  }

  /** Reconnect everyone at once, resuming from their last seq; resolves when all reached headSeq. */
  async resume(headSeq: number, timeoutMs: number): Promise<ResumeResult> {
    this.resumeTarget = headSeq;
    this.caughtUpCount = 0;
    for (const c of this.conns) c.caughtUp = false;
    const t0 = nowUs();
    const all = new Promise<void>((resolve) => (this.onAllCaughtUp = resolve));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await this.openAll(Date.now(), timeoutMs);
    for (const c of this.conns) {
      if (!c.caughtUp && c.lastSeq >= headSeq) {
        c.caughtUp = true;
        this.caughtUpCount++;
      }
    }
    if (this.caughtUpCount < this.conns.length) await Promise.race([all, timeout]);
    const ms = (nowUs() - t0) / 1000;
    this.onAllCaughtUp = null;
    this.resumeTarget = 0;
    let recoveredFlag = 0;
    for (const c of this.conns) if (c.sid && c.sid === c.prevSid) recoveredFlag++;
    return {
      ms,
      caughtUp: this.caughtUpCount,
      clients: this.conns.length,
      unrecovered: this.win.unrecovered,
      recoveredFlag,
    };
  }

  /** From now on, a client whose server goes away reconnects once, at once, to `port` and resumes by seq. */
  armFailover(port: number): void {
    this.failoverPort = port;
    this.failovers = 0;
  }

  private failOver(conn: Conn): void {
    conn.failedOver = true;
    this.failovers++;
    this.spec = { ...this.spec!, port: this.failoverPort };
    this.open(conn, CONNECT_TIMEOUT_MS).catch((err: Error) =>
      this.win.error(`client ${conn.index} failover: ${err.message}`),
    );
  }

  /**
   * Wait until every client has seen `headSeq` (or `timeoutMs`); `lastAt` is when the last one did (nowUs clock,
   * comparable with the orchestrator's), so failover time = lastAt - the moment the server was killed.
   */
  async awaitHead(headSeq: number, timeoutMs: number): Promise<FailoverResult> {
    this.resumeTarget = headSeq;
    this.caughtUpCount = 0;
    this.lastCaughtUpAt = 0;
    for (const c of this.conns) {
      c.caughtUp = c.lastSeq >= headSeq;
      if (c.caughtUp) this.caughtUpCount++;
    }
    if (this.caughtUpCount < this.conns.length) {
      const all = new Promise<void>((resolve) => (this.onAllCaughtUp = resolve));
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([all, timeout]);
    }
    this.onAllCaughtUp = null;
    this.resumeTarget = 0;
    return {
      clients: this.conns.length,
      caughtUp: this.caughtUpCount,
      lastAt: this.lastCaughtUpAt,
      failovers: this.failovers,
      unrecovered: this.win.unrecovered,
    };
  }

  closeAll(): void {
    this.drop();
    this.conns = [];
  }
}
