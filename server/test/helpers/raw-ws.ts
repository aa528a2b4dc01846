import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { onTestFinished } from 'vitest';

export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  /** RSV1..3 bits (0..7). */
  rsv?: number;
  /** Clients must mask; false sends a protocol violation. */
  mask?: boolean;
  /** Lie about the payload length in the header (the payload actually sent is `payload`). */
  lengthOverride?: bigint;
}

export const Op = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Encode one client frame by hand, including frames no WebSocket library would send. */
export function encodeFrame(f: FrameSpec): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const len = f.lengthOverride ?? BigInt(payload.length);
  const mask = f.mask ?? true;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.opcode];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push(m | Number(len));
  else if (len < 65536n) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

/**
 * A WebSocket client on a raw `net` socket with hand-made framing: for invalid UTF-8, bad opcodes, unmasked
 * frames, lying length headers and other things `ws` refuses to send. Server frames are parsed (unmasked,
 * no extensions); the close frame's code is kept. Waits are event-driven (`until`).
 */
export class RawWs {
  readonly frames: RawFrame[] = [];
  closeCode: number | undefined;
  /** The TCP connection ended (with or without a close frame). */
  ended = false;
  status = 0;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (b) => this.onData(b));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    onTestFinished(() => void socket.destroy());
  }

  /** Connect and upgrade on /v1/stream with a Bearer key; resolves after the 101 (or rejects with the status). */
  static async open(port: number, key: string | undefined): Promise<RawWs> {
    const socket = net.connect(port, '127.0.0.1');
    const r = new RawWs(socket);
    await new Promise<void>((res, rej) => (socket.once('connect', res), socket.once('error', rej)));
    socket.write(
      [
        'GET /v1/stream HTTP/1.1',
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        ...(key ? [`Authorization: Bearer ${key}`] : []),
        '',
        '',
      ].join('\r\n'),
    );
    await r.until(() => r.status !== 0 || r.ended, 5000, 'upgrade answer');
    if (r.status !== 101)
      throw Object.assign(new Error(`upgrade answered ${r.status}`), { status: r.status });
    return r;
  }

  send(f: FrameSpec | Buffer): void {
    this.socket.write(Buffer.isBuffer(f) ? f : encodeFrame(f));
  }

  /** Text frames the server sent, parsed as JSON. */
  json(): { type: string; [k: string]: unknown }[] {
    return this.frames
      .filter((f) => f.opcode === Op.text)
      .map((f) => JSON.parse(f.payload.toString()) as { type: string });
  }

  until<T>(cond: () => T | undefined | false, ms = 5000, what = 'condition'): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; frames ${this.frames.length}, close ${this.closeCode}, ended ${this.ended}`,
            ),
          ),
        ms,
      );
      const loop = () => {
        const v = cond();
        if (v) {
          clearTimeout(timer);
          resolve(v);
        } else this.waiters.push(loop);
      };
      loop();
    });
  }

  /** Resolves when the connection is over: with the close frame's code, or 1006 when TCP ended without one. */
  closed(ms = 5000): Promise<number> {
    return this.until(() => (this.ended ? (this.closeCode ?? 1006) : undefined), ms, 'close');
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private onData(b: Buffer): void {
    this.buf = Buffer.concat([this.buf, b]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.buf.subarray(0, end).toString())?.[1] ?? -1);
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = this.status === 101;
      if (!this.upgraded) return this.wake();
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buf.length < at + len) break;
      const frame = {
        fin: (b0 & 0x80) !== 0,
        opcode: b0 & 0x0f,
        payload: Buffer.from(this.buf.subarray(at, at + len)),
      };
      this.buf = this.buf.subarray(at + len);
      if (frame.opcode === Op.close)
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
      this.frames.push(frame);
    }
    this.wake();
  }
}
