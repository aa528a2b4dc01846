/** A load-generator process: forked by the orchestrator, driven over IPC (see protocol.ts). */
import { ClientSet } from './clients.js';
import { runIngest } from './ingest.js';
import { runOpenIngest } from './ingest-open.js';
import type { GenRequest, GenResponse } from './protocol.js';

const clients = new ClientSet();

async function handle(req: GenRequest): Promise<unknown> {
  switch (req.op) {
    case 'connect':
      return clients.connectAll(req.spec);
    case 'window':
      return clients.window(req.fromSeq);
    case 'count':
      return clients.count();
    case 'report':
      return clients.report();
    case 'drop':
      return clients.drop();
    case 'resume':
      return clients.resume(req.headSeq, req.timeoutMs);
    case 'ingest':
      return runIngest(req.spec);
    case 'ingestOpen':
      return runOpenIngest(req.spec);
    case 'armFailover':
      return clients.armFailover(req.port);
    case 'awaitHead':
      return clients.awaitHead(req.headSeq, req.timeoutMs);
    case 'close':
      clients.closeAll();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (msg: { id: number; req: GenRequest }) => {
  handle(msg.req).then(
    (result) => process.send!({ id: msg.id, ok: true, result: result ?? null } satisfies GenResponse),
    (err: unknown) => process.send!({ id: msg.id, ok: false, error: String(err) } satisfies GenResponse),
  );
});
process.on('disconnect', () => process.exit(0));
