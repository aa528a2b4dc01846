import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { cliKey } from '../../../server/test/helpers/cli.js';

/** The REAL signal server (server/dist/cli.js) as a child process on 127.0.0.1, port 0. */

export const SERVER_CLI = resolve(import.meta.dirname, '../../../server/dist/cli.js');
export const serverBuilt = () => existsSync(SERVER_CLI);

export interface RealServer {
  url: string;
  child: ChildProcess;
  createKey(name: string, scope: 'read' | 'publish' | 'admin'): Promise<string>;
  publish(key: string, classification: object): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function startRealServer(dataDir: string, heartbeatMs = 500): Promise<RealServer> {
  const child = spawn(
    process.execPath,
    [
      SERVER_CLI,
      'serve',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--heartbeat-ms',
      String(heartbeatMs),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] },
    },
  );
  const lines: string[] = [];
  const port = await new Promise<number>((resolvePort, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => reject(new Error('server did not log "listening": ' + lines.slice(-5).join('\n'))),
      20_000,
    );
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const l = JSON.parse(line) as { msg?: string; port?: number };
        if (l.msg === 'listening' && typeof l.port === 'number') {
          clearTimeout(timer);
          resolvePort(l.port);
        }
      } catch {
        /* banner lines are not JSON */
      }
    });
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    child.on(
      'exit',
      (code) => (clearTimeout(timer), reject(new Error(`server exited ${code}: ${lines.join('\n')}`))),
    );
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    url,
    child,
    createKey: (name, scope) => cliKey(dataDir, name, scope),
    async publish(key, classification) {
      const res = await fetch(`${url}/v1/signals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(classification),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
