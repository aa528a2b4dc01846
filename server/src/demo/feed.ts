import { createHash } from 'node:crypto';
import type { ClassificationInput } from '@catalyst-signal/shared';

/**
 * A realistic stream of what Catalyst-Bot publishes (docs/signal-v2.md), for the demo and load scripts:
 * news catalysts on low-priced US equities (NASDAQ/NYSE/AMEX, $0.10-$10). Like Catalyst-Bot's own mix,
 * most alerts carry no action (`info`); a minority are actions: biotech FDA news and mergers as `enter`
 * long with stop, target, size and timeframe; offerings, dilution and reverse splits as `avoid`; going
 * concern, delisting and bankruptcy as `exit` (confidence 1.0 for exit and avoid, 0.0 for info, as
 * docs/publishing.md maps them). Tickers are fictional but plausible.
 * Deterministic for a given seed (and clock).
 */

interface Instrument {
  symbol: string;
  name: string;
  exchange: 'NASDAQ' | 'NYSE' | 'AMEX';
  price: number;
  /** Biotechs get the FDA and clinical headlines, nobody else does. */
  biotech?: true;
}

export const DEMO_INSTRUMENTS: readonly Instrument[] = [
  { symbol: 'NVRX', name: 'Novarex Therapeutics', exchange: 'NASDAQ', price: 2.14, biotech: true },
  { symbol: 'KLTO', name: 'Kalto Biosciences', exchange: 'NASDAQ', price: 0.87, biotech: true },
  { symbol: 'ORPH', name: 'Orphalyne Pharma', exchange: 'NASDAQ', price: 4.62, biotech: true },
  { symbol: 'TLMD', name: 'Telomedix Health', exchange: 'NASDAQ', price: 7.9, biotech: true },
  { symbol: 'QBTX', name: 'Qubitex Systems', exchange: 'NASDAQ', price: 6.35 },
  { symbol: 'PXLA', name: 'Pixela Media', exchange: 'NASDAQ', price: 0.23 },
  { symbol: 'BRSK', name: 'Brisk Mobility', exchange: 'NASDAQ', price: 1.72 },
  { symbol: 'CDRX', name: 'Cedrix Robotics', exchange: 'NYSE', price: 9.15 },
  { symbol: 'HLMN', name: 'Helmann Energy', exchange: 'NYSE', price: 3.18 },
  { symbol: 'GRNW', name: 'Greenway Mining', exchange: 'AMEX', price: 0.41 },
  { symbol: 'AQBX', name: 'Aquabex Water', exchange: 'AMEX', price: 1.05 },
];

/** Catalyst-Bot's price band. */
const MIN_PRICE = 0.1;
const MAX_PRICE = 10;

export type Kind = 'enter' | 'avoid' | 'exit' | 'info';

interface Template {
  catalyst: string;
  keywords: string[];
  /** Sentiment range -1..1. */
  sentiment: [number, number];
  text: (n: string) => string;
  /** Only for biotech instruments. */
  biotech?: true;
  /** enter only: Catalyst-Bot's base confidence, stop and target percent for the keyword. */
  buy?: { confidence: number; stopPct: number; targetPct: number };
}

const TEMPLATES: Record<Kind, Template[]> = {
  enter: [
    {
      catalyst: 'fda',
      keywords: ['fda'],
      sentiment: [0.4, 0.9],
      text: (n) => `${n} receives FDA approval for lead oncology candidate`,
      biotech: true,
      buy: { confidence: 0.92, stopPct: 5, targetPct: 12 },
    },
    {
      catalyst: 'fda',
      keywords: ['fda', 'clinical'],
      sentiment: [0.3, 0.8],
      text: (n) => `${n} granted FDA Fast Track designation after positive Phase 2 data`,
      biotech: true,
      buy: { confidence: 0.92, stopPct: 5, targetPct: 12 },
    },
    {
      catalyst: 'merger',
      keywords: ['merger'],
      sentiment: [0.4, 0.9],
      text: (n) => `${n} enters definitive merger agreement at a 62% premium`,
      buy: { confidence: 0.95, stopPct: 4, targetPct: 15 },
    },
    {
      catalyst: 'merger',
      keywords: ['acquisition'],
      sentiment: [0.3, 0.8],
      text: (n) => `${n} to be acquired in all-cash deal`,
      buy: { confidence: 0.9, stopPct: 4.5, targetPct: 14 },
    },
  ],
  avoid: [
    {
      catalyst: 'offering',
      keywords: ['offering', 'dilution'],
      sentiment: [-0.8, -0.3],
      text: (n) => `${n} prices $8M registered direct offering`,
    },
    {
      catalyst: 'offering',
      keywords: ['offering', 'warrant'],
      sentiment: [-0.7, -0.2],
      text: (n) => `${n} announces public offering of common stock and warrants`,
    },
    {
      catalyst: 'reverse_split',
      keywords: ['reverse_split'],
      sentiment: [-0.6, -0.2],
      text: (n) => `${n} announces 1-for-20 reverse stock split`,
    },
  ],
  exit: [
    {
      catalyst: 'going_concern',
      keywords: ['going_concern'],
      sentiment: [-1, -0.6],
      text: (n) => `${n} discloses substantial doubt about ability to continue as a going concern`,
    },
    {
      catalyst: 'delisting',
      keywords: ['delisting'],
      sentiment: [-0.9, -0.5],
      text: (n) => `${n} receives Nasdaq delisting determination`,
    },
    {
      catalyst: 'bankruptcy',
      keywords: ['bankruptcy'],
      sentiment: [-1, -0.7],
      text: (n) => `${n} files voluntary Chapter 11 petition`,
    },
  ],
  info: [
    {
      catalyst: 'earnings',
      keywords: ['earnings'],
      sentiment: [-0.3, 0.6],
      text: (n) => `${n} reports third quarter results, cash runway into 2027`,
    },
    {
      catalyst: 'partnership',
      keywords: ['partnership'],
      sentiment: [0, 0.5],
      text: (n) => `${n} announces distribution partnership in Southeast Asia`,
    },
    {
      catalyst: 'analyst',
      keywords: ['analyst'],
      sentiment: [-0.2, 0.6],
      text: (n) => `H.C. Wainwright initiates coverage of ${n} with a buy rating`,
    },
    {
      catalyst: 'other',
      keywords: ['conference'],
      sentiment: [-0.1, 0.3],
      text: (n) => `${n} to present at the Emerging Growth Conference`,
    },
    {
      catalyst: 'other',
      keywords: ['contract'],
      sentiment: [0, 0.6],
      text: (n) => `${n} wins $2.1M municipal contract`,
    },
    {
      catalyst: 'guidance',
      keywords: ['guidance'],
      sentiment: [-0.2, 0.4],
      text: (n) => `${n} reaffirms full-year revenue guidance`,
    },
  ],
};

/** Catalyst-Bot's mix: a majority of alerts are informational, a minority carry an action. */
const KIND_WEIGHTS: [Kind, number][] = [
  ['info', 0.64],
  ['enter', 0.16],
  ['avoid', 0.12],
  ['exit', 0.08],
];

const SOURCES = ['globenewswire', 'prnewswire', 'businesswire', 'accesswire', 'sec-8k', 'finnhub'];

/** Small, fast, seedable PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Catalyst-Bot's rounding: cents at $1 and above, 4 decimals below. */
const roundPrice = (p: number) => (p >= 1 ? Math.round(p * 100) / 100 : Math.round(p * 10_000) / 10_000);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** One scripted alert: this symbol, this kind (the first fitting template of the kind). */
export interface ScriptStep {
  symbol: string;
  kind: Kind;
}

/**
 * The demo's opening, so every run shows the US equity rules within its first signals (docs/client.md):
 * in pre-market an entry (an extended-hours limit order), an avoid and an entry it blocks; after the open an
 * entry (a bracket) and an exit selling the pre-market position.
 */
export const DEMO_OPENING: { pre: readonly ScriptStep[]; regular: readonly ScriptStep[] } = {
  pre: [
    { symbol: 'TLMD', kind: 'enter' },
    { symbol: 'KLTO', kind: 'avoid' },
    { symbol: 'KLTO', kind: 'enter' },
  ],
  regular: [
    { symbol: 'NVRX', kind: 'enter' },
    { symbol: 'TLMD', kind: 'exit' },
  ],
};

/**
 * A deterministic stream for a seed (and clock): first the `script` steps in order, then random alerts in
 * Catalyst-Bot's mix.
 */
export function createFeed(
  seed = 1,
  now: () => Date = () => new Date(),
  script: readonly ScriptStep[] = [],
): () => ClassificationInput {
  const rand = rng(seed);
  const bySymbol = new Map(DEMO_INSTRUMENTS.map((i) => [i.symbol, i]));
  for (const step of script)
    if (!bySymbol.has(step.symbol)) throw new Error(`unknown demo symbol ${step.symbol}`);
  const prices = new Map(DEMO_INSTRUMENTS.map((i) => [i.symbol, i.price]));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const between = ([lo, hi]: [number, number]) => lo + (hi - lo) * rand();
  const kindOf = (): Kind => {
    let r = rand();
    for (const [k, w] of KIND_WEIGHTS) if ((r -= w) < 0) return k;
    return 'info';
  };
  let n = 0;
  return () => {
    const step = script[n];
    const inst = step ? bySymbol.get(step.symbol)! : pick(DEMO_INSTRUMENTS);
    const kind = step?.kind ?? kindOf();
    const fitting = TEMPLATES[kind].filter((x) => !x.biotech || inst.biotech);
    const t = step ? fitting[0]! : pick(fitting);
    // A random walk of a few percent, kept inside Catalyst-Bot's price band.
    const walked = prices.get(inst.symbol)! * (1 + (rand() - 0.5) * 0.06);
    const price = roundPrice(Math.min(MAX_PRICE, Math.max(MIN_PRICE, walked)));
    prices.set(inst.symbol, price);
    const sentiment = round2(between(t.sentiment));
    const relevance = round2(1 + rand() * 4);
    const score = round2(relevance * (1 + Math.abs(sentiment)));
    const at = now();
    n++;
    const headline = t.text(inst.name);
    const url = `https://www.${pick(SOURCES.slice(0, 4))}.com/news-release/${at.toISOString().slice(0, 10)}/${seed}-${n}`;
    const base = {
      // Catalyst-Bot's own dedupe id: md5("ticker:title:link"), first 16 hex chars.
      source_id: createHash('md5').update(`${inst.symbol}:${headline}:${url}`).digest('hex').slice(0, 16),
      symbol: inst.symbol,
      catalyst: t.catalyst,
      asset_class: 'us_equity' as const,
      exchange: inst.exchange,
      currency: 'USD',
      price,
      headline,
      url,
      source: pick(SOURCES),
      sentiment,
      keywords: t.keywords,
      relevance,
      score,
      published_at: new Date(at.getTime() - Math.floor(rand() * 20_000)).toISOString(),
      classified_at: at.toISOString(),
      expires_at: new Date(at.getTime() + 10 * 60_000).toISOString(),
      meta: { model: 'catalyst-bot-demo', latency_ms: Math.floor(rand() * 900) },
    };
    if (kind === 'enter') {
      const b = t.buy!;
      // Catalyst-Bot: confidence x 1.2 when sentiment > 0.3; sizes in PERCENT of equity.
      const confidence = round2(Math.min(0.99, b.confidence * (sentiment > 0.3 ? 1.2 : 1)) - rand() * 0.2);
      return {
        ...base,
        action: 'enter',
        direction: 'long',
        confidence,
        stop_loss: roundPrice(price * (1 - b.stopPct / 100)),
        take_profit: roundPrice(price * (1 + b.targetPct / 100)),
        position_size_pct: round2(2 + confidence * 2),
        timeframe: 'intraday',
      };
    }
    if (kind === 'exit') return { ...base, action: 'exit', confidence: 1, timeframe: 'immediate' };
    // As the publishing adapter maps them (docs/publishing.md): an avoid is a keyword rule that fired, 1.0; an
    // info alert makes no claim, 0.0. A classifier-style score here would show friends numbers the bot never sends.
    return { ...base, action: kind, confidence: kind === 'avoid' ? 1 : 0 };
  };
}
