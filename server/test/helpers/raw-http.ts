import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Send bytes fetch would never send (duplicated headers, lying Content-Length, broken chunking) and read
 * the first HTTP response. Resolves `undefined` if the server closes without answering; rejects only on
 * timeout (the caller treats a hang as a failure).
 */
export function rawHttp(
  port: number,
  request: string | Buffer,
  timeoutMs = 5000,
): Promise<RawResponse | undefined> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(request.toString().slice(0, 200))}`),
      );
    }, timeoutMs);
    const done = (r: RawResponse | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    s.on('error', () => undefined);
    s.on('connect', () => s.write(request));
    s.on('data', (b) => {
      buf = Buffer.concat([buf, b]);
      const r = parse(buf);
      if (r) done(r);
    });
    s.on('close', () => done(parse(buf, true)));
  });
}

function parse(buf: Buffer, eof = false): RawResponse | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(end + 4);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return eof ? { status, headers, body: rest.toString() } : undefined;
    return { status, headers, body: rest.subarray(0, n).toString() };
  }
  if (headers['transfer-encoding']?.includes('chunked')) {
    const text = rest.toString('latin1');
    if (!text.includes('\r\n0\r\n\r\n') && !text.startsWith('0\r\n\r\n') && !eof) return undefined;
    return { status, headers, body: dechunk(text) };
  }
  return eof
    ? { status, headers, body: rest.toString() }
    : status === 204 || status === 101
      ? { status, headers, body: '' }
      : undefined;
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const nl = text.indexOf('\r\n', at);
    if (nl < 0) return out;
    const n = parseInt(text.slice(at, nl), 16);
    if (!n) return out;
    out += text.slice(nl + 2, nl + 2 + n);
    at = nl + 2 + n + 2;
  }
}
