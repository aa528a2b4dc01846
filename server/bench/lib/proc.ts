/** What /proc says about a process (CPU time, RSS) and about the machine. Linux only. */
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { spawnSync } from 'node:child_process';

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU time of a process, in microseconds (10 ms resolution at CLK_TCK 100). */
export function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export interface Machine {
  nproc: number;
  model: string;
  node: string;
  kernel: string;
  pinned: boolean;
}

export function machine(pinned: boolean): Machine {
  return {
    nproc: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: release(),
    pinned,
  };
}

/** Pin this process (and so every child it spawns later) to one CPU. False if taskset is missing. */
export function pinSelf(cpu: number): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { encoding: 'utf8' });
  return r.status === 0;
}

export const hasTaskset = (): boolean => spawnSync('taskset', ['-V']).status === 0;

/** Busy CPU time of the whole machine (all CPUs), microseconds: to see load that is not ours. */
export function machineBusyUs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (
    (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1e6) / CLK_TCK
  );
}

/**
 * This machine is shared (builds and tests may run beside the benchmark): wait, at most `maxMs`, until the
 * whole machine stays under `pct`% of one core for half a second. Returns the load last seen.
 */
export async function waitForQuiet(maxMs: number, pct = 15): Promise<number> {
  const end = Date.now() + maxMs;
  for (;;) {
    const b0 = machineBusyUs();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 500));
    const load = ((machineBusyUs() - b0) / ((Date.now() - t0) * 1000)) * 100;
    if (load < pct || Date.now() >= end) return load;
  }
}
