import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread. With SQLite's default auto-checkpoint the COMMIT that crosses 1000 WAL
 * pages copies them into the database file on the committing thread: a multi-millisecond stall of ingest
 * AND fan-out every few thousand signals. The main connection turns auto-checkpoint off and this worker,
 * with its own connection, runs PASSIVE checkpoints (they never block the writer) on a timer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 100');
const run = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ } };
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); run(); db.close(); parentPort.postMessage('stopped'); } });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * `onFailure` is called once if the worker dies before stop() (it could not open the file, it crashed): the
 * caller must then checkpoint some other way (`db.ts` restoreAutoCheckpoint), or the WAL grows without bound.
 */
export function startCheckpointer(
  file: string,
  onFailure: (err: Error) => void,
  intervalMs = 250,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver, intervalMs } });
  worker.unref();
  let stopping: Promise<void> | undefined;
  // Listened for from the start: a worker that dies early must neither crash the process (an 'error' event
  // nobody listens to) nor leave stop() waiting for an answer that cannot come.
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  worker.on('error', (err) => {
    if (!stopping) onFailure(err);
  });
  return {
    stop: () =>
      (stopping ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => resolve();
            worker.once('message', () => void worker.terminate().then(done, done));
            void exit.then(resolve);
            worker.postMessage('stop');
          })),
  };
}
