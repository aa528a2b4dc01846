import net from 'node:net';

/**
 * What the proxy does to the bytes of its connections. `setMode` applies to new AND existing connections.
 *  - pass: forward unchanged.
 *  - close-after-bytes: forward `bytes` bytes server->client on each connection (counted from its start),
 *    then end both TCP sockets (FIN) mid-stream: no WebSocket close frame, possibly in the middle of one.
 *  - stall: stop forwarding in both directions but keep both sockets open: a half-open / black-holed path.
 *    A stalled connection stays stalled (a dead path does not come back); only new connections see a
 *    later mode. Its peers notice only by their own timeouts (missing heartbeats).
 *  - delay: hold every chunk `ms` before forwarding (order kept).
 *  - chunk: split every chunk into random pieces of 1..maxBytes, written one per event-loop turn.
 * `cut()` is the other fault: reset (RST) and destroy both sockets of every live connection at once.
 */
export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'close-after-bytes'; bytes: number }
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number }
  | { kind: 'chunk'; maxBytes: number };

interface Pair {
  id: number;
  client: net.Socket;
  server: net.Socket;
  down: number;
  stalled: boolean;
  /** Serialises writes per direction, so delay and chunk keep byte order. */
  upQ: Promise<void>;
  downQ: Promise<void>;
}

export interface ProxyStats {
  accepted: number;
  bytesUp: number;
  bytesDown: number;
  closedAfterBytes: number;
  cut: number;
  stalled: number;
}

/**
 * A fault-injecting TCP proxy for chaos tests (the project's own; Ably's spec tests use the same idea).
 * Listens on 127.0.0.1 port 0 and forwards every connection to `target`. Usage:
 *
 *   const proxy = await FaultProxy.start({ host: '127.0.0.1', port: server.port });
 *   connect(proxy.wsUrl, key)              // clients talk to the proxy
 *   proxy.setMode({ kind: 'stall' })       // ... then break things
 *   proxy.cut()                            // RST every live connection
 *   await proxy.close()                    // in teardown (onTestFinished(() => proxy.close()))
 */
export class FaultProxy {
  private readonly pairs = new Set<Pair>();
  private mode: FaultMode = { kind: 'pass' };
  private nextId = 1;
  readonly stats: ProxyStats = {
    accepted: 0,
    bytesUp: 0,
    bytesDown: 0,
    closedAfterBytes: 0,
    cut: 0,
    stalled: 0,
  };

  private constructor(
    private readonly srv: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(
    target: { host: string; port: number },
    mode: FaultMode = { kind: 'pass' },
  ): Promise<FaultProxy> {
    const srv = net.createServer();
    const proxy = new FaultProxy(srv, target);
    proxy.mode = mode;
    srv.on('connection', (c) => proxy.accept(c));
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.srv.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Live connection pairs. */
  get connections(): number {
    return this.pairs.size;
  }

  get currentMode(): FaultMode {
    return this.mode;
  }

  setMode(mode: FaultMode): void {
    this.mode = mode;
    if (mode.kind === 'stall') for (const p of this.pairs) this.stallPair(p);
    if (mode.kind === 'close-after-bytes')
      for (const p of this.pairs) if (p.down >= mode.bytes) this.endPair(p);
  }

  /** RST and destroy both sockets of every live connection (no close frame, no FIN). */
  cut(): number {
    const n = this.pairs.size;
    for (const p of [...this.pairs]) {
      this.stats.cut++;
      p.client.resetAndDestroy();
      p.server.resetAndDestroy();
      this.pairs.delete(p);
    }
    return n;
  }

  /** Stop listening and destroy every connection. Safe to call twice. */
  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.server.destroy();
    }
    this.pairs.clear();
    if (!this.srv.listening) return;
    await new Promise<void>((r) => this.srv.close(() => r()));
  }

  private accept(client: net.Socket): void {
    this.stats.accepted++;
    const server = net.connect(this.target.port, this.target.host);
    client.setNoDelay(true);
    server.setNoDelay(true);
    const p: Pair = {
      id: this.nextId++,
      client,
      server,
      down: 0,
      stalled: false,
      upQ: Promise.resolve(),
      downQ: Promise.resolve(),
    };
    this.pairs.add(p);
    if (this.mode.kind === 'stall') this.stallPair(p);
    const drop = () => {
      if (!this.pairs.delete(p)) return;
      // One side went away: so does the other (a stalled pair keeps its sockets until a peer closes).
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', () => undefined);
      s.on('close', drop);
    }
    client.on('data', (b) => this.forward(p, b, 'up'));
    server.on('data', (b) => this.forward(p, b, 'down'));
  }

  private stallPair(p: Pair): void {
    if (p.stalled) return;
    p.stalled = true;
    this.stats.stalled++;
    // Stop reading too, so the kernel buffers fill and TCP flow control pushes back like a dead path.
    p.client.pause();
    p.server.pause();
  }

  private endPair(p: Pair): void {
    if (!this.pairs.delete(p)) return;
    this.stats.closedAfterBytes++;
    p.client.end();
    p.server.end();
    p.client.destroySoon();
    p.server.destroySoon();
  }

  private forward(p: Pair, chunk: Buffer, dir: 'up' | 'down'): void {
    if (p.stalled || !this.pairs.has(p)) return;
    const to = dir === 'up' ? p.server : p.client;
    const mode = this.mode;
    if (dir === 'up') this.stats.bytesUp += chunk.length;
    if (mode.kind === 'close-after-bytes' && dir === 'down') {
      const room = mode.bytes - p.down;
      if (chunk.length >= room) {
        p.down += Math.max(0, room);
        this.stats.bytesDown += Math.max(0, room);
        if (room > 0) this.enqueue(p, dir, [chunk.subarray(0, room)], 0, to);
        const q = p.downQ;
        void q.then(() => this.endPair(p));
        return;
      }
    }
    if (dir === 'down') {
      p.down += chunk.length;
      this.stats.bytesDown += chunk.length;
    }
    if (mode.kind === 'delay') return this.enqueue(p, dir, [chunk], Date.now() + mode.ms, to);
    if (mode.kind === 'chunk') return this.enqueue(p, dir, split(chunk, mode.maxBytes), 0, to);
    // pass (and close-after-bytes below its limit): straight through, unless earlier delayed writes are queued.
    this.enqueue(p, dir, [chunk], 0, to);
  }

  /** `due`: wall-clock ms before which the pieces must not be written (0 = now); delays do not add up. */
  private enqueue(p: Pair, dir: 'up' | 'down', pieces: Buffer[], due: number, to: net.Socket): void {
    const key = dir === 'up' ? 'upQ' : 'downQ';
    p[key] = p[key].then(async () => {
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let i = 0; i < pieces.length; i++) {
        if (p.stalled || to.destroyed) return;
        to.write(pieces[i]!);
        if (pieces.length > 1) await new Promise((r) => setImmediate(r));
      }
    });
  }
}

function split(chunk: Buffer, maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < chunk.length;) {
    const n = 1 + Math.floor(Math.random() * maxBytes);
    out.push(chunk.subarray(at, at + n));
    at += n;
  }
  return out;
}
