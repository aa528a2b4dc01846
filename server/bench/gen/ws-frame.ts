/**
 * Minimal client-side WebSocket framing (RFC 6455) over a raw socket: the generator must be cheaper than the
 * servers it measures. Client frames are masked with a zero key (legal, and the payload stays as is).
 */

export function upgradeRequest(path: string, token?: string): string {
  const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${auth}\r\n`
  );
}

export const OP_TEXT = 1;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x80 | opcode;
  if (ext === 0) head[1] = 0x80 | len;
  else if (ext === 2) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

export const textFrame = (text: string): Buffer => clientFrame(OP_TEXT, Buffer.from(text));

/** Called once per complete frame; the payload is buf[start, end). `now` is the chunk's arrival (µs). */
export type FrameHandler = (opcode: number, buf: Buffer, start: number, end: number, now: number) => void;

/**
 * Split `chunk` (plus what was left over) into frames. Returns the incomplete tail to keep (copied, so a 64 KB
 * read buffer is not pinned by a few bytes), or null. Servers do not fragment these small messages; a
 * non-final frame is reported as opcode -1.
 */
export function readFrames(
  pending: Buffer | null,
  chunk: Buffer,
  now: number,
  onFrame: FrameHandler,
): Buffer | null {
  const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
  const n = buf.length;
  let i = 0;
  while (n - i >= 2) {
    const b0 = buf[i]!;
    const b1 = buf[i + 1]!;
    let len = b1 & 0x7f;
    let hdr = 2;
    if (len === 126) {
      if (n - i < 4) break;
      len = buf.readUInt16BE(i + 2);
      hdr = 4;
    } else if (len === 127) {
      if (n - i < 10) break;
      len = buf.readUInt32BE(i + 6);
      hdr = 10;
    }
    const end = i + hdr + len;
    if (end > n) break;
    onFrame((b0 & 0x80) === 0 || (b1 & 0x80) !== 0 ? -1 : b0 & 0x0f, buf, i + hdr, end, now);
    i = end;
  }
  return i < n ? Buffer.from(buf.subarray(i)) : null;
}
