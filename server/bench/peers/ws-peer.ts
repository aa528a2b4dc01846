/**
 * Peers 1 and 2: node http + `ws`. `naive` stringifies the frame for every client; `once` serialises one Buffer
 * per broadcast and sends it to all. Neither has recovery: `from_seq` is ignored and `subscribed` says so.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import {
  announce,
  createPeerHttpServer,
  ingestHandler,
  parsePeerArgs,
  PeerStore,
  type PeerSignal,
} from './common.js';

export function startWsPeer(mode: 'naive' | 'once'): void {
  const opts = parsePeerArgs(process.argv.slice(2));
  const store = new PeerStore(opts.dataDir, opts.sync);
  const subscribers = new Set<WebSocket>();

  const broadcast =
    mode === 'naive'
      ? (signal: PeerSignal) => {
          for (const ws of subscribers) ws.send(JSON.stringify({ type: 'signal', signal }));
        }
      : (signal: PeerSignal) => {
          const data = Buffer.from(JSON.stringify({ type: 'signal', signal }));
          for (const ws of subscribers) ws.send(data, { binary: false });
        };

  const server = createPeerHttpServer(ingestHandler(store, broadcast));
  const wss = new WebSocketServer({
    server,
    path: '/v1/stream',
    perMessageDeflate: false,
    maxPayload: 16 * 1024,
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      let frame: { type?: unknown };
      try {
        frame = JSON.parse(String(data)) as { type?: unknown };
      } catch {
        return;
      }
      if (frame.type !== 'subscribe') return;
      subscribers.add(ws);
      ws.send(
        JSON.stringify({ type: 'subscribed', epoch: store.epoch, recovered: false, reason: 'no_recovery' }),
      );
    });
    ws.on('close', () => subscribers.delete(ws));
    ws.on('error', () => subscribers.delete(ws));
  });
  server.listen(opts.port, opts.host, () => announce(server, `ws-${mode}`));
}
