/** Raw HTTP/1.1 for the ingest generators: one POST /v1/signals request, and where its answer ends. */

const HEADERS_END = Buffer.from('\r\n\r\n');

export function postSignal(token: string | undefined, body: string): Buffer {
  const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
  return Buffer.from(
    `POST /v1/signals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${auth}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Length of one complete response at the start of `buf`, or 0 if incomplete; -1 if unparseable. */
export function responseLength(buf: Buffer): number {
  const end = buf.indexOf(HEADERS_END);
  if (end < 0) return 0;
  const head = buf.toString('latin1', 0, end).toLowerCase();
  const m = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (m) return buf.length >= end + 4 + Number(m[1]) ? end + 4 + Number(m[1]) : 0;
  if (head.includes('transfer-encoding: chunked')) {
    const z = buf.indexOf('\r\n0\r\n\r\n', end);
    return z < 0 ? 0 : z + 7;
  }
  return -1;
}

/** The status code of a complete response (responseLength > 0). */
export const statusOf = (buf: Buffer): number => Number(buf.toString('latin1', 9, 12));
