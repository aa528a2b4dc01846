/** Peer 2: `ws`, one serialised Buffer per broadcast. */
import { startWsPeer } from './ws-peer.js';

startWsPeer('once');
