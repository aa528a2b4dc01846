/** Forked load-generator processes and a promise-per-request IPC on top of them. */
import { fork, type ChildProcess } from 'node:child_process';
import type { GenRequest, GenResponse } from '../gen/protocol.js';

const WORKER = new URL('../gen/worker.ts', import.meta.url).pathname;

export class Gen {
  private nextId = 1;
  private waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (msg: GenResponse) => {
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.ok) w?.resolve(msg.result);
      else w?.reject(new Error(`generator: ${msg.error}`));
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`generator exited (${code})`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  call<T>(req: GenRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, req });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call({ op: 'close' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Up to `perProcess` clients per generator (the per-process open-file cap here is 20,000). */
export function gensFor(clients: number, perProcess: number): Gen[] {
  return Array.from({ length: Math.max(1, Math.ceil(clients / perProcess)) }, () => new Gen());
}

export const closeAll = (gens: Gen[]): Promise<unknown> => Promise.all(gens.map((g) => g.close()));
