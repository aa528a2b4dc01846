import type { Config } from '../config.js';
import { actionOf } from './actions.js';
import type { ReasonCode } from './reasons.js';
import { formatDuration } from './time-text.js';
import type { Decision, DecisionInput, EntryBlock } from './types.js';

/**
 * Entry blocks, both venues: an avoid signal (us_equity) or an exit signal (any venue) blocks entries in its
 * symbol for a window; the journal keeps them (journal avoids) and hands them back as state. Pure.
 */

/**
 * "entries in TLMD blocked for 7d" (a new block), "exit #5 going_concern: entries in TLMD blocked for another
 * 2d 4h" (one in force). A duration, not an instant: the window runs on the client's own clock, which can be a
 * simulated market clock (paper.market_clock) beside real time, so an instant would name a time that is neither.
 */
export function blockText(
  symbol: string,
  until: number,
  now: number,
  by?: Pick<EntryBlock, 'kind' | 'seq' | 'catalyst'>,
) {
  const what = by ? `${by.kind} #${by.seq}${by.catalyst ? ` ${by.catalyst}` : ''}: ` : '';
  return `${what}entries in ${symbol} blocked for ${by ? 'another ' : ''}${formatDuration(until - now)}`;
}

/** The block in force at `now` for any of the names a symbol goes by (signal symbol, market symbol). */
export function activeBlock(
  blocks: Readonly<Record<string, EntryBlock>> | undefined,
  names: readonly string[],
  now: number,
): { reason: ReasonCode; detail: string } | undefined {
  for (const name of names) {
    const b = blocks?.[name.toUpperCase()];
    if (b !== undefined && b.until > now)
      return {
        reason: b.kind === 'exit' ? 'skipped:exited' : 'skipped:avoid',
        detail: blockText(name, b.until, now, b),
      };
  }
  return undefined;
}

/**
 * An exit signal blocks entries for risk.exit_block_ms whatever became of the exit (sold, nothing held, paused,
 * market closed): the news is about the company, not about this client's position. A signal of another asset
 * class is not about a symbol this venue trades and blocks nothing.
 */
export function exitBlock(
  r: Pick<Config['risk'], 'exit_block_ms'>,
  symbol: string,
  now: number,
  d: Decision,
): Decision {
  if (d.reason === 'skipped:asset_class') return d;
  const avoidUntil = Math.max(now + r.exit_block_ms, d.avoidUntil ?? 0);
  const text = blockText(symbol, avoidUntil, now);
  return { ...d, avoidUntil, detail: d.detail ? `${d.detail}; ${text}` : text };
}

/** Crypto spot: the exit block on an exit, and no entry while a block is in force (checked on the outcome). */
export function applyEntryBlocks(
  r: Pick<Config['risk'], 'exit_block_ms'>,
  input: DecisionInput,
  d: Decision,
): Decision {
  const { signal, now, market, state } = input;
  if (actionOf(signal) === 'exit') return exitBlock(r, signal.symbol.toUpperCase(), now, d);
  if (!d.legs.some((l) => l.leg === 'entry')) return d;
  const names = [signal.symbol, ...(market ? [market.symbol] : [])];
  const blocked = activeBlock(state.avoids, names, now);
  return blocked ? { verdict: 'skip', reason: blocked.reason, detail: blocked.detail, legs: [] } : d;
}
