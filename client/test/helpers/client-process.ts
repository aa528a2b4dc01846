import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

/** Spawns the BUILT client CLI (what ships), exposing its pino log lines as events. */

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export function writeConfig(dir: string, config: object): string {
  const path = join(dir, 'catalyst.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

export interface ClientProc extends EventEmitter {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  stdout: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout matches re (what was already printed counts). */
  waitStdout(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves at the first log line matching pred (already seen lines count). */
  waitLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

export function startClient(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): ClientProc {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const em = new EventEmitter() as ClientProc;
  em.child = child;
  em.logs = [];
  em.stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    em.stdout += d.toString();
    em.emit('stdout');
  });
  em.waitStdout = (re, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = em.stdout.match(re);
        if (!m) return false;
        clearTimeout(timer);
        em.off('stdout', check);
        resolve(m);
        return true;
      };
      const timer = setTimeout(() => {
        em.off('stdout', check);
        reject(new Error(`stdout never matched ${re}; stdout: ${em.stdout.slice(-500)}`));
      }, timeoutMs);
      if (check()) return;
      em.on('stdout', check);
      void em.exited.then(() => {
        if (check()) return;
        clearTimeout(timer);
        em.off('stdout', check);
        reject(new Error(`client exited before stdout matched ${re}; stdout: ${em.stdout.slice(-500)}`));
      });
    });
  createInterface({ input: child.stderr! }).on('line', (line) => {
    let l: Record<string, unknown>;
    try {
      l = JSON.parse(line) as Record<string, unknown>;
    } catch {
      l = { msg: line, raw: true };
    }
    em.logs.push(l);
    em.emit('log', l);
  });
  em.exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  em.waitLog = (pred, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const seen = em.logs.find(pred);
      if (seen) return resolve(seen);
      const timer = setTimeout(
        () => (
          em.off('log', on),
          reject(new Error('log line not seen; last: ' + JSON.stringify(em.logs.slice(-5))))
        ),
        timeoutMs,
      );
      const on = (l: Record<string, unknown>) => {
        if (!pred(l)) return;
        clearTimeout(timer);
        em.off('log', on);
        resolve(l);
      };
      em.on('log', on);
      void em.exited.then(() => {
        if (em.logs.find(pred)) return;
        clearTimeout(timer);
        em.off('log', on);
        reject(new Error('client exited before the log line; last: ' + JSON.stringify(em.logs.slice(-5))));
      });
    });
  return em;
}

/** Run a one-shot command (status, history, pause...) and return stdout. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((r) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env['PATH'], ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => r({ code, stdout, stderr }));
  });
}
