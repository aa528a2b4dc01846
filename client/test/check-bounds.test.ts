import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '@catalyst-signal/shared';
import { checkCommand } from '../src/commands/check.js';
import { parseConfig } from '../src/config.js';
import { OVERSIZE_FRAME, WS_MAX_PAYLOAD_BYTES } from '../src/limits.js';
import { testLog } from './helpers/logger.js';
import { createSigner } from './helpers/signals.js';

// `catalyst-client check` against a hostile server (node:http + ws on 127.0.0.1, port 0) whose REST answers
// are fine but whose hello frame is over WS_MAX_PAYLOAD_BYTES: the stream line fails and says why, check
// itself goes on to the end. Read, that hello would be valid (unknown fields are ignored) and pass.

let dir: string;
let server: Server;
let wss: WebSocketServer;
let url: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-check-bounds-'));
  const jwk = (await createSigner()).jwk;
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body =
      path === '/healthz'
        ? { status: 'ok', epoch: 'ep-test', head_seq: 0, time: Date.now() }
        : path === '/v1/signals'
          ? { signals: [], next_after_seq: 0, head_seq: 0, epoch: 'ep-test' }
          : { keys: [jwk] };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) =>
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        server_id: 'hostile',
        epoch: 'ep-test',
        head_seq: 0,
        heartbeat_ms: 1000,
        authenticated: true,
        limits: { max_frame_bytes: 16384, frames_per_second: 10, max_replay: 10, max_backpressure_bytes: 1 },
        time: Date.now(),
        pad: 'x'.repeat(WS_MAX_PAYLOAD_BYTES),
      }),
    ),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('check: a hello over the frame bound', () => {
  it('fails the stream line with the reason; every other check still runs', async () => {
    const ctx = {
      configPath: join(dir, 'catalyst.yaml'),
      config: parseConfig({ server: { url } }),
      secrets: {
        serverKey: 'cat_test_key',
        exchangeApiKey: undefined,
        exchangeSecret: undefined,
        exchangePassword: undefined,
      },
      dataDir: dir,
      journalPath: join(dir, 'journal.sqlite'),
      log: testLog,
    };
    const r = await checkCommand(ctx, {});
    expect(r.ok).toBe(false);
    expect(r.report).toContain(`[FAIL] stream ws://${new URL(url).host}/v1/stream: ${OVERSIZE_FRAME}`);
    expect(r.report).toContain('[ok  ] server key accepted (history readable)');
    expect(r.report).toMatch(/exchange: none configured/);
  });
});
