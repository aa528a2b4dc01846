import type { WebSocket } from 'uWebSockets.js';
import type { Principal } from '../auth/authenticator.js';
import type { CompiledFilter } from './filters.js';

/** One subscribe: replaying (cursor moves page by page) until it goes live on `topic`. */
export interface Subscription {
  gen: number;
  cursor: number;
  filter: CompiledFilter | undefined;
  live: boolean;
  topic: string | undefined;
  pumping: boolean;
  /** The resolved from_seq: replayed leaves are indexes [replayFrom, cursor) (leaf index = seq - 1). */
  replayFrom: number;
  /** Asked for checkpoint frames (subscribe.checkpoints), with the size the client verified last. */
  checkpoints: { fromSize: number | undefined } | undefined;
}

/** What each socket carries (uWS user data), from upgrade to close. */
export interface SocketData {
  id: number;
  ip: string;
  principal: Principal | undefined;
  openedAt: number;
  closed: boolean;
  endedByServer: boolean;
  badFrames: number;
  limitedInRow: number;
  authTimer: NodeJS.Timeout | undefined;
  sub: Subscription | undefined;
  gen: number;
  /** Asked for status frames (admin only): subscribed to the status topic. */
  watchingStatus: boolean;
  /** The largest checkpoint size this socket sent a `cosign` for: each socket cosigns a size once, growing. */
  cosignedSize: number;
}

export type Ws = WebSocket<SocketData>;

/** A new socket's state: `principal` when upgrade already authenticated it, else it must send `auth`. */
export function newSocketData(
  id: number,
  ip: string,
  principal: Principal | undefined,
  now: number,
): SocketData {
  return {
    id,
    ip,
    principal,
    openedAt: now,
    closed: false,
    endedByServer: false,
    badFrames: 0,
    limitedInRow: 0,
    authTimer: undefined,
    sub: undefined,
    gen: 0,
    watchingStatus: false,
    cosignedSize: -1,
  };
}
