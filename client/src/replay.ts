import type { Logger } from 'pino';
import type { Signal } from '@catalyst-signal/shared';
import type { Config } from './config.js';
import { mapSymbol } from './decide/index.js';
import { PaperAdapter } from './exchange/index.js';
import { Executor } from './executor.js';
import { historyPages } from './history-pages.js';
import { Journal } from './journal/index.js';
import { processSignal } from './pipeline.js';
import { paperVenue } from './venue/index.js';
import type { Verifier } from './verify.js';

/**
 * Replay server history through the SAME pipeline as `run`, in paper mode with a throwaway in-memory journal
 * and default (offline) market rules. Each signal is decided "as of" its ingested_at, i.e. what this config
 * would have done had it been running; fills are at signal prices.
 */

export interface ReplayOptions {
  config: Config;
  serverKey: string;
  afterSeq: number;
  since?: string | undefined;
  verify: Verifier;
  log: Logger;
  /** Called every `progressEvery` signals and at the end. */
  onProgress?: (p: { done: number; seq: number; head: number }) => void;
  progressEvery?: number;
  /** For tests: signals instead of the server. */
  source?: AsyncIterable<Signal[]> | undefined;
}

export interface ReplayReport {
  signals: number;
  trades: number;
  rejected: number;
  byReason: Record<string, number>;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  startingBalance: number;
  endingEquity: number;
  openPositions: { market: string; amount: number; cost: number; mark: number }[];
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** The config asks for approvals: its entries were placed as if approved at once. */
  approvalAssumed: boolean;
}

export async function replay(o: ReplayOptions): Promise<ReplayReport> {
  // Paper, offline, no exchange: the replay never touches the network beyond the signal server (its paper
  // adapter is built without a market-data source, whatever exchange the config names). Nobody answers
  // approvals here: an entry that would wait for a yes is placed as if approved (the report says so).
  const config: Config = { ...o.config, mode: 'paper', approval: { ...o.config.approval, mode: 'off' } };
  const journal = Journal.open(':memory:');
  let clock = 0;
  const now = () => clock;
  const exchange = new PaperAdapter(journal, config);
  const executor = new Executor(journal, exchange, config, o.log, now);
  const deps = {
    config,
    journal,
    venue: paperVenue({ config, journal, log: o.log, now }, exchange),
    executor,
    log: o.log,
    now,
  };
  const lastPrice = new Map<string, number>();
  let done = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  const every = o.progressEvery ?? 500;
  try {
    for await (const page of historyPages(o)) {
      for (const s of page.signals) {
        clock = Date.parse(s.ingested_at);
        const verified = await o.verify(s);
        // A replay is not bound to a cursor: history pages are decided in order, seq gaps are simply absent.
        await processSignal(deps, s, verified, clock);
        lastPrice.set(mapSymbol(s.symbol, config.exchange), s.price);
        firstSeq ??= s.seq;
        lastSeq = s.seq;
        done++;
        if (done % every === 0) o.onProgress?.({ done, seq: s.seq, head: page.head });
      }
    }
    o.onProgress?.({ done, seq: lastSeq ?? 0, head: lastSeq ?? 0 });
    const byReason: Record<string, number> = {};
    let trades = 0;
    let rejected = 0;
    for (const r of journal.reasonCounts()) {
      byReason[r.reason] = r.n;
      if (r.verdict === 'trade') trades += r.n;
      if (r.verdict === 'reject') rejected += r.n;
    }
    const realizedPnl = journal.totalRealized();
    const openPositions = journal
      .positions()
      .map((p) => ({ ...p, mark: lastPrice.get(p.market) ?? p.cost / p.amount }));
    const unrealizedPnl = openPositions.reduce((s, p) => s + p.amount * p.mark - p.cost, 0);
    const quote = config.exchange.quote.toUpperCase();
    const free = journal.paperBalances()[quote] ?? 0;
    const fees = journal.allIntents().reduce((s, i) => s + i.fee_quote, 0);
    return {
      signals: done,
      trades,
      rejected,
      byReason,
      realizedPnl,
      unrealizedPnl,
      fees,
      startingBalance: config.paper.starting_balance_quote,
      endingEquity: free + openPositions.reduce((s, p) => s + p.amount * p.mark, 0),
      openPositions,
      firstSeq,
      lastSeq,
      approvalAssumed: o.config.approval.mode !== 'off',
    };
  } finally {
    journal.close();
  }
}

export function formatReplay(r: ReplayReport): string {
  const lines = [
    `replayed ${r.signals} signals (seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'})`,
    `trades: ${r.trades}   rejected: ${r.rejected}   skipped: ${r.signals - r.trades - r.rejected}`,
    'decisions by reason:',
    ...Object.entries(r.byReason).map(([k, v]) => `  ${String(v).padStart(6)}  ${k}`),
    `realized P&L: ${r.realizedPnl.toFixed(2)}   unrealized (at last signal price): ${r.unrealizedPnl.toFixed(2)}   fees: ${r.fees.toFixed(2)}`,
    `equity: ${r.startingBalance.toFixed(2)} -> ${r.endingEquity.toFixed(2)}`,
  ];
  if (r.approvalAssumed)
    lines.push(
      'approval mode is not simulated: entries that would wait for a yes were placed as if approved',
    );
  if (r.openPositions.length) {
    lines.push('open positions:');
    for (const p of r.openPositions)
      lines.push(`  ${p.market}  ${p.amount}  cost ${p.cost.toFixed(2)}  mark ${p.mark}`);
  }
  return lines.join('\n');
}
