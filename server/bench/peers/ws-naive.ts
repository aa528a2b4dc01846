/** Peer 1: `ws`, JSON.stringify + send per client. */
import { startWsPeer } from './ws-peer.js';

startWsPeer('naive');
