import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { ClassificationInput } from '@catalyst-signal/shared';
import { startServer, type Server } from '../../src/app.js';
import type { SqliteLog } from '../../src/store/sqlite-log.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig, type ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export interface TestServer {
  server: Server<SqliteLog>;
  dataDir: string;
  url: string;
  wsUrl: string;
  adminKey: string;
  publishKey: string;
  readKey: string;
  /** POST one classification or a batch with the publish key. */
  post(body: unknown, init?: { key?: string; contentType?: string }): Promise<Response>;
  get(pathAndQuery: string, key?: string): Promise<Response>;
  close(): Promise<void>;
}

export function tempDir(prefix = 'catalyst-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A real server on 127.0.0.1 port 0 with a real SQLite file in a temp dir, three fresh keys, and its own
 * teardown registered with the running test. Pass `dataDir` to reopen an existing store (restart tests).
 */
export async function startTestServer(
  overrides: Partial<ConfigInput> = {},
  dataDir?: string,
): Promise<TestServer> {
  const dir = dataDir ?? tempDir();
  const config = loadConfig({
    flags: { data_dir: dir, port: 0, host: '127.0.0.1', log_level: 'silent', ...overrides },
  });
  const server = await startServer(config, createLogger(config.log_level));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
  };
  onTestFinished(close);
  const mk = (name: string, scope: 'admin' | 'publish' | 'read') =>
    createApiKey(server.keys, `${name}-${Math.random().toString(36).slice(2, 8)}`, [scope]).key;
  const adminKey = mk('admin', 'admin');
  const publishKey = mk('pub', 'publish');
  const readKey = mk('read', 'read');
  server.auth.refresh();
  return {
    server,
    dataDir: dir,
    url: server.url,
    wsUrl: server.wsUrl,
    adminKey,
    publishKey,
    readKey,
    post: (body, init = {}) =>
      fetch(`${server.url}/v1/signals`, {
        method: 'POST',
        headers: {
          'content-type': init.contentType ?? 'application/json',
          authorization: `Bearer ${init.key ?? publishKey}`,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (p, key = readKey) => fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${key}` } }),
    close,
  };
}

let counter = 0;
/** A valid classification; `i` makes source_id unique. */
export function classification(i = counter++, over: Partial<ClassificationInput> = {}): ClassificationInput {
  const symbols = ['AAPL', 'TSLA', 'NVDA', 'MRNA', 'BTC'];
  const catalysts = ['earnings', 'fda', 'merger', 'offering', 'guidance'];
  return {
    source_id: `test-${process.pid}-${i}-${Math.random().toString(36).slice(2, 8)}`,
    symbol: symbols[i % symbols.length]!,
    catalyst: catalysts[i % catalysts.length]!,
    direction: i % 3 === 0 ? 'short' : 'long',
    confidence: (i % 10) / 10,
    price: 100 + (i % 50),
    headline: `Headline number ${i}`,
    classified_at: new Date().toISOString(),
    ...over,
  };
}
