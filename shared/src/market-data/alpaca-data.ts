import type { z } from 'zod';
import {
  AlpacaLatestQuotesSchema,
  AlpacaMultiBarsSchema,
  barFromAlpaca,
  type Bar,
  type BarsBySymbol,
  type MarketData,
  type Quote,
} from './bars.js';
import { RateGate } from './rate-gate.js';

/**
 * Alpaca's market-data API (data.alpaca.markets, v2) over the global fetch. Historical SIP (all exchanges) is
 * free once it is more than 15 minutes old; newer data comes from IEX, the only real-time feed of the basic
 * plan. Bars are split-adjusted, so a price path is continuous across a split.
 */

export type Feed = 'sip' | 'iex';

export interface AlpacaMarketDataOptions {
  keyId: string;
  secret: string;
  /** Default https://data.alpaca.markets. */
  baseUrl?: string;
  /** Calls per minute this client allows itself (default 190: inside Alpaca's 200). */
  callsPerMinute?: number;
  /** Bars per page (Alpaca: max 10,000). */
  pageLimit?: number;
  /** A response body larger than this is refused (default 16 MiB; a full page of bars is ~1.2 MB). */
  maxBodyBytes?: number;
  /** How many 429 answers in a row one call waits out before it fails. */
  maxRetries?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

/** Symbols per bars request: keeps the URL short (a backtest may ask for hundreds). */
const SYMBOLS_PER_CALL = 100;

/** SIP is refused on the free plan for the most recent 15 minutes. */
export const SIP_DELAY_MS = 15 * 60_000;

export class MarketDataError extends Error {
  override name = 'MarketDataError';
  constructor(
    message: string,
    readonly code: 'http' | 'body_too_large' | 'bad_response' | 'rate_limited' | 'bad_request',
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_BASE = 'https://data.alpaca.markets';

export class AlpacaMarketData implements MarketData {
  readonly gate: RateGate;
  private readonly base: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: AlpacaMarketDataOptions) {
    this.base = (opts.baseUrl ?? DEFAULT_BASE).replace(/\/+$/, '');
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.fetchFn = opts.fetch ?? fetch;
    this.gate = new RateGate({
      limit: opts.callsPerMinute ?? 190,
      windowMs: 60_000,
      now: this.now,
      sleep: this.sleep,
    });
  }

  async getBars(symbols: readonly string[], start: number, end: number): Promise<BarsBySymbol> {
    const out: BarsBySymbol = new Map(symbols.map((s) => [s, []]));
    if (symbols.length === 0 || end <= start) return out;
    for (const s of symbols)
      if (!/^[A-Z][A-Z0-9.]{0,15}$/.test(s))
        throw new MarketDataError(`bad symbol "${s}" (want an upper-case US equity ticker)`, 'bad_request');
    // SIP up to 15 minutes ago, IEX after: one range may need both.
    const sipEnd = Math.min(end, Math.max(start, this.now() - SIP_DELAY_MS));
    const parts: [number, number, Feed][] = [];
    if (sipEnd > start) parts.push([start, sipEnd, 'sip']);
    if (end > sipEnd) parts.push([sipEnd, end, 'iex']);
    for (let i = 0; i < symbols.length; i += SYMBOLS_PER_CALL)
      for (const [a, b, feed] of parts)
        await this.fetchBars(symbols.slice(i, i + SYMBOLS_PER_CALL), a, b, feed, out);
    for (const list of out.values()) list.sort((a: Bar, b: Bar) => a.t - b.t);
    return out;
  }

  private async fetchBars(
    symbols: readonly string[],
    start: number,
    end: number,
    feed: Feed,
    out: BarsBySymbol,
  ) {
    const params = new URLSearchParams({
      symbols: symbols.join(','),
      timeframe: '1Min',
      start: new Date(start).toISOString(),
      // Alpaca's end is inclusive; ours is not.
      end: new Date(end - 1).toISOString(),
      limit: String(this.opts.pageLimit ?? 10_000),
      adjustment: 'split',
      feed,
      sort: 'asc',
    });
    for (let pages = 0; ; pages++) {
      if (pages > 100_000) throw new MarketDataError('bars: too many pages', 'bad_response');
      const page = await this.get('/v2/stocks/bars', params, AlpacaMultiBarsSchema);
      for (const [sym, bars] of Object.entries(page.bars ?? {})) {
        const list = out.get(sym);
        if (!list) continue; // a symbol we did not ask for: ignore rather than trust it
        for (const b of bars ?? []) list.push(barFromAlpaca(b));
      }
      if (!page.next_page_token) return;
      params.set('page_token', page.next_page_token);
    }
  }

  async getLatestQuotes(symbols: readonly string[]): Promise<Map<string, Quote>> {
    const out = new Map<string, Quote>();
    if (symbols.length === 0) return out;
    const params = new URLSearchParams({ symbols: symbols.join(','), feed: 'iex' });
    const r = await this.get('/v2/stocks/quotes/latest', params, AlpacaLatestQuotesSchema);
    for (const [sym, q] of Object.entries(r.quotes))
      out.set(sym, { t: Date.parse(q.t), bid: q.bp, ask: q.ap, bidSize: q.bs, askSize: q.as });
    return out;
  }

  private async get<S extends z.ZodType>(
    path: string,
    params: URLSearchParams,
    schema: S,
  ): Promise<z.infer<S>> {
    const max = this.opts.maxRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      await this.gate.take();
      const res = await this.fetchFn(`${this.base}${path}?${params}`, {
        headers: {
          'APCA-API-KEY-ID': this.opts.keyId,
          'APCA-API-SECRET-KEY': this.opts.secret,
          accept: 'application/json',
        },
      });
      const text = await readBounded(res, this.opts.maxBodyBytes ?? 16 * 1024 * 1024);
      if (res.status === 429) {
        if (attempt >= max)
          throw new MarketDataError(`${path}: rate limited ${attempt + 1} times`, 'rate_limited', 429);
        const after = Number(res.headers.get('retry-after'));
        await this.sleep(Number.isFinite(after) && after > 0 ? after * 1000 : 60_000);
        continue;
      }
      if (!res.ok) {
        const msg = /"message"\s*:\s*"([^"]{0,200})"/.exec(text)?.[1] ?? text.slice(0, 200);
        throw new MarketDataError(`${path}: HTTP ${res.status} ${msg}`, 'http', res.status);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new MarketDataError(`${path}: response is not JSON`, 'bad_response', res.status, { cause: e });
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new MarketDataError(
          `${path}: unexpected response (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
          'bad_response',
          res.status,
        );
      }
      return parsed.data;
    }
  }
}

/** The body as text, refusing (and cancelling) it once it passes `max` bytes instead of buffering it all. */
async function readBounded(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    throw new MarketDataError(
      `response of ${declared} bytes is over the ${max}-byte cap`,
      'body_too_large',
      res.status,
    );
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new MarketDataError(`response over the ${max}-byte cap`, 'body_too_large', res.status);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
