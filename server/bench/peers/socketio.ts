/**
 * Peer 3: Socket.IO 4 with connectionStateRecovery (in-memory, default 2 min), websocket transport only.
 * Every connected socket receives every signal; recovery replays what a reconnecting socket missed.
 */
import { Server } from 'socket.io';
import {
  announce,
  createPeerHttpServer,
  ingestHandler,
  parsePeerArgs,
  PeerStore,
  type PeerSignal,
} from './common.js';

const opts = parsePeerArgs(process.argv.slice(2));
const store = new PeerStore(opts.dataDir, opts.sync);
// Called only after `io` below exists (the first POST cannot arrive before listen).
function broadcast(signal: PeerSignal): void {
  io.emit('signal', { type: 'signal', signal });
}

const server = createPeerHttpServer(ingestHandler(store, broadcast));
const io = new Server(server, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true },
});
server.listen(opts.port, opts.host, () => announce(server, 'socketio'));
