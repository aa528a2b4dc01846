import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';

/** integrations/python: the vendorable publisher and its test driver. */
export const PY_DIR = fileURLToPath(new URL('../../../integrations/python', import.meta.url));
export const PY_PUBLISHER = `${PY_DIR}/catalyst_publisher.py`;
const DRIVER = `${PY_DIR}/tests/driver.py`;

export type PyLine = Record<string, unknown> & { id?: number; ok?: boolean; event?: string };

/**
 * The machine's python3 running integrations/python/tests/driver.py: one JSON command a line in, one JSON
 * answer a line out, plus `{"event":…}` lines the test waits on (event-driven, never a sleep). Killed in
 * the running test's teardown.
 */
export class PyDriver {
  readonly lines: PyLine[] = [];
  stderr = '';
  private nextId = 1;
  private waiters: { pred: (l: PyLine) => boolean; resolve: (l: PyLine) => void }[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(private readonly proc: ChildProcess) {
    proc.stderr!.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-20_000)));
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as PyLine;
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    this.exited = new Promise((r) => proc.on('exit', (code) => r(code)));
  }

  static async start(env: Record<string, string> = {}): Promise<PyDriver> {
    const proc = spawn('python3', ['-u', DRIVER], {
      env: { ...process.env, PYTHONPATH: PY_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const d = new PyDriver(proc);
    onTestFinished(() => d.kill());
    await d.waitFor((l) => l.event === 'ready');
    return d;
  }

  /** Resolves with the first line (already seen or future) that matches; rejects if python exits first. */
  waitFor(pred: (l: PyLine) => boolean): Promise<PyLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ pred, resolve });
      void this.exited.then((code) => reject(new Error(`python exited (${code}):\n${this.stderr}`)));
    });
  }

  /** Send a command and resolve with its answer line. */
  async cmd(op: string, args: Record<string, unknown> = {}): Promise<PyLine> {
    const id = this.nextId++;
    this.proc.stdin!.write(`${JSON.stringify({ ...args, op, id })}\n`);
    return this.waitFor((l) => l.id === id);
  }

  /** SIGKILL (no cleanup, no flush: a crash) and resolve once it is gone. */
  async kill(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** Run `python3 catalyst_publisher.py …` (or any python args) to completion. */
export function runPython(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', args, {
      env: { ...process.env, PYTHONPATH: PY_DIR, PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
