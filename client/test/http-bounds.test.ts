import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponseTooLarge, failover, fetchHistory, fetchJwks } from '../src/http.js';
import { HISTORY_PAGE_SIZE, REST_MAX_BODY_BYTES, historyMaxBodyBytes } from '../src/limits.js';

// A hostile REST server (raw HTTP/1.1 on 127.0.0.1, port 0) answering with more than the client will hold:
// a Content-Length over the bound, a chunked body with no length, a body delimited only by the connection's
// close. The client must refuse with a clear error naming the URL and the bound, and stop reading: the server
// sees the connection closed long before it has written everything it meant to.

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  // Undici opens a fresh idle connection after one it aborted; close would wait for its keep-alive timeout.
  for (const s of sockets) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A net server on 127.0.0.1 port 0 whose sockets are destroyed after each test. */
async function listen(onSocket: (sock: Socket) => void): Promise<string> {
  const s = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    onSocket(sock);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

type Framing = 'content-length-over' | 'chunked' | 'close-delimited';

interface Hostile {
  url: string;
  /** Resolves once the answer ended: how many body bytes went out, and whether the client closed first. */
  done: Promise<{ written: number; closedByClient: boolean }>;
}

/** Answers the first request with `total` bytes of a JSON-looking body, framed as asked, honouring backpressure. */
async function hostile(framing: Framing, total: number): Promise<Hostile> {
  let finish!: (r: { written: number; closedByClient: boolean }) => void;
  const done = new Promise<{ written: number; closedByClient: boolean }>((r) => (finish = r));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const url = await listen((sock) => {
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => (closed = true));
    sock.once('data', async () => {
      const head =
        framing === 'content-length-over'
          ? `Content-Length: ${total}\r\n`
          : framing === 'chunked'
            ? 'Transfer-Encoding: chunked\r\n'
            : 'Connection: close\r\n';
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${head}\r\n`);
      let written = 0;
      const send = (b: Buffer | string) =>
        sock.write(framing === 'chunked' ? `${b.length.toString(16)}\r\n${b.toString()}\r\n` : b);
      if (!send('{"signals":[')) await drainOrClose(sock, () => closed);
      written += 12;
      // A declared length over the bound: a client that believes it need not see any more than this.
      const limit = framing === 'content-length-over' ? Math.min(total, 64 * 1024) : total;
      while (!closed && written < limit) {
        const ok = send(chunk);
        written += chunk.length;
        if (!ok) await drainOrClose(sock, () => closed);
      }
      if (framing === 'content-length-over' && !closed) {
        // Hold the connection open with the rest unsent, as a slow or lying server would.
        await new Promise((r) => sock.once('close', r));
      } else if (!closed) {
        await new Promise<void>((r) => sock.end(framing === 'chunked' ? '0\r\n\r\n' : '', () => r()));
      }
      finish({ written, closedByClient: closed });
    });
  });
  return { url, done };
}

function drainOrClose(sock: Socket, closed: () => boolean): Promise<void> {
  if (closed()) return Promise.resolve();
  return new Promise((r) => {
    const done = () => (sock.off('drain', done), sock.off('close', done), r());
    sock.on('drain', done);
    sock.on('close', done);
  });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('REST bodies are bounded (client/src/limits.ts)', () => {
  it('a history page whose Content-Length is over the bound is refused before its body is read', async () => {
    const cap = historyMaxBodyBytes(HISTORY_PAGE_SIZE);
    const h = await hostile('content-length-over', cap + 1);
    const e = await fetchHistory({ baseUrl: h.url, key: 'k', timeoutMs: 5000 }, 0).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ResponseTooLarge);
    expect((e as Error).message).toMatch(
      new RegExp(
        `^response over ${cap} bytes from ${esc(h.url)}/v1/signals\\?.* \\(Content-Length ${cap + 1}\\)$`,
      ),
    );
    // The client hung up instead of waiting for the 33 MiB it was promised.
    const { closedByClient, written } = await h.done;
    expect(closedByClient).toBe(true);
    expect(written).toBeLessThan(cap);
  });

  it.each(['chunked', 'close-delimited'] as const)(
    'a %s history page with no length is read only up to the bound, then the connection is dropped',
    async (framing) => {
      const limit = 10; // a page of 10: bound ~1.3 MiB; the server would send 32 MiB
      const cap = historyMaxBodyBytes(limit);
      const total = 32 * 1024 * 1024;
      const h = await hostile(framing, total);
      const e = await fetchHistory({ baseUrl: h.url, key: 'k', timeoutMs: 5000 }, 0, limit).catch(
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(ResponseTooLarge);
      expect((e as Error).message).toMatch(
        new RegExp(`^response over ${cap} bytes from ${esc(h.url)}/v1/signals\\?after_seq=0&limit=10$`),
      );
      const { closedByClient, written } = await h.done;
      expect(closedByClient).toBe(true);
      // What the server got out before the close: the bound, plus what the kernel's socket buffers held
      // (several MiB on loopback); far from all of it.
      expect(written).toBeLessThan(total / 2);
    },
  );

  it('JWKS and other small bodies have their own bound; a gateway answering too much is failed over', async () => {
    const h = await hostile('chunked', 4 * REST_MAX_BODY_BYTES);
    const goodUrl = await listen((sock) =>
      sock.once('data', () => {
        const body = JSON.stringify({ keys: [] });
        sock.end(
          `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      }),
    );

    const alone = await fetchJwks({ baseUrl: h.url }).catch((x: unknown) => x);
    expect((alone as Error).message).toBe(
      `response over ${REST_MAX_BODY_BYTES} bytes from ${h.url}/v1/keys/signing`,
    );
    expect((await h.done).closedByClient).toBe(true);

    const h2 = await hostile('chunked', 4 * REST_MAX_BODY_BYTES);
    const urls = [h2.url, goodUrl];
    expect(await failover(urls, (baseUrl, failFast) => fetchJwks({ baseUrl, failFast }))).toEqual({
      keys: [],
    });
  });
});
