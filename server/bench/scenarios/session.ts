/** Run one measurement against a freshly started server and always clean up (server, generators, publisher). */
import { closeAll, type Gen } from '../lib/gen-pool.js';
import { waitForQuiet } from '../lib/proc.js';
import { Publisher } from '../lib/publisher.js';
import { startServer, type RunningServer, type ServerName, type Sync } from '../lib/servers.js';

export interface Session {
  server: RunningServer;
  pub: Publisher;
  gens: Gen[];
}

let tagCounter = 0;
let quietWaitMs = 0;
let onNoisy: (load: number) => void = () => undefined;

/** Before each session wait up to `ms` for the machine to be idle; `noisy` hears when it was not. */
export function setQuietWait(ms: number, noisy: (load: number) => void): void {
  quietWaitMs = ms;
  onNoisy = noisy;
}

/** Wait (bounded) for the machine to be idle before a measurement; the cluster scenarios use it too. */
export async function awaitQuiet(): Promise<void> {
  if (quietWaitMs > 0) {
    const load = await waitForQuiet(quietWaitMs);
    if (load >= 15) onNoisy(load);
  }
}

export async function withSession<T>(
  name: ServerName,
  sync: Sync,
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  await awaitQuiet();
  const server = await startServer(name, sync);
  const s: Session = {
    server,
    pub: new Publisher(server.port, server.publishToken, `b${process.pid}-${tagCounter++}`),
    gens: [],
  };
  try {
    return await fn(s);
  } finally {
    s.pub.close();
    await closeAll(s.gens);
    await server.stop();
  }
}

export interface Failure {
  server: ServerName;
  round: number;
  error: string;
}

export type Log = (line: string) => void;

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : String(n);
