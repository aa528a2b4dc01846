import type { NotifyEventKind, NotifyMessage } from './events.js';
import { priorityOf } from './events.js';

/** The messages the client sends, built from plain values (pure: time is an argument). */

function msg(
  kind: NotifyEventKind,
  at: number,
  title: string,
  body: string,
  fields?: NotifyMessage['fields'],
): NotifyMessage {
  return { kind, priority: priorityOf(kind), title, body, fields, at };
}

export function testMessage(at: number, host: string): NotifyMessage {
  return msg(
    'test',
    at,
    'catalyst-client: test notification',
    `This target works: catalyst-client on ${host} will send its notifications here.`,
  );
}

/**
 * Trading stopped (exit 3, 4 or 5): what happened and the exact commands that start trading again, as the CLI
 * prints them on stderr (`recovery` is that rendered text, e.g. "run: `npx --no -- catalyst-client ...`").
 */
export function haltMessage(
  at: number,
  a: { exitCode: number; message: string; recovery?: string | undefined; host: string },
): NotifyMessage {
  const what = a.exitCode === 4 ? 'refused to start' : 'TRADING STOPPED';
  return msg(
    'trading_stopped',
    at,
    `catalyst-client ${what} (exit ${a.exitCode})`,
    [a.message, a.recovery ? `To start again: ${a.recovery}` : ''].filter(Boolean).join('\n'),
    [{ name: 'host', value: a.host }],
  );
}

const secs = (ms: number) => `${Math.round(ms / 1000)} s`;

export function connectionLostMessage(
  at: number,
  a: { since: number; why: string; url: string },
): NotifyMessage {
  return msg(
    'connection_lost',
    at,
    `signal server unreachable for ${secs(at - a.since)}`,
    `No connection to ${a.url} since ${new Date(a.since).toISOString()} (${a.why}). Signals published meanwhile are fetched when it is back; nothing is traded until then.`,
  );
}

export function witnessQuorumLostMessage(
  at: number,
  a: { size: number; sinceMs: number; cosigned: number; need: number },
): NotifyMessage {
  return msg(
    'witness_quorum_lost',
    at,
    `transparency log not witnessed: ${a.cosigned} of ${a.need} cosignatures`,
    `The checkpoint of size ${a.size} this client acted on at ${new Date(a.sinceMs).toISOString()} is not cosigned by ${a.need} of the witnesses in log.witness_policy (the latest has ${a.cosigned}). Trading goes on; a split view would not be noticed by the witnesses until they are back.`,
  );
}

export function witnessQuorumBackMessage(at: number, a: { cosigned: number; need: number }): NotifyMessage {
  return msg(
    'witness_quorum_back',
    at,
    'transparency log witnessed again',
    `${a.cosigned} witnesses (of ${a.need} required) cosign the checkpoints this client acts on again.`,
  );
}

export function connectionBackMessage(at: number, a: { since: number; url: string }): NotifyMessage {
  return msg(
    'connection_back',
    at,
    'signal server reachable again',
    `Connected to ${a.url} again after ${secs(at - a.since)} without a connection.`,
  );
}
