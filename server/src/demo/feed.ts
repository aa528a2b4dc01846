import type { ClassificationInput } from '@catalyst-signal/shared';

/**
 * A realistic-looking stream of catalyst classifications for the demo and for load scripts: a mix of
 * symbols, catalysts and directions, confidences skewed like a real classifier's (most middling, few very
 * sure), prices that random-walk, and stop/target hints on some. Deterministic for a given seed.
 */

interface Instrument {
  symbol: string;
  price: number;
  name: string;
}

const INSTRUMENTS: Instrument[] = [
  { symbol: 'BTC', price: 97_000, name: 'Bitcoin' },
  { symbol: 'ETH', price: 3_400, name: 'Ethereum' },
  { symbol: 'SOL', price: 210, name: 'Solana' },
  { symbol: 'LINK', price: 23, name: 'Chainlink' },
  { symbol: 'AVAX', price: 41, name: 'Avalanche' },
  { symbol: 'DOGE', price: 0.38, name: 'Dogecoin' },
  { symbol: 'MRNA', price: 41.2, name: 'Moderna' },
  { symbol: 'NVDA', price: 146, name: 'Nvidia' },
  { symbol: 'TSLA', price: 338, name: 'Tesla' },
];

const HEADLINES: Record<string, { dir: 'long' | 'short' | 'neutral'; text: (n: string) => string }[]> = {
  earnings: [
    { dir: 'long', text: (n) => `${n} beats revenue estimates, raises full-year outlook` },
    { dir: 'short', text: (n) => `${n} misses on margins as costs climb` },
  ],
  fda: [
    { dir: 'long', text: (n) => `FDA grants ${n} approval for lead candidate` },
    { dir: 'short', text: (n) => `FDA issues complete response letter to ${n}` },
  ],
  merger: [{ dir: 'long', text: (n) => `${n} agrees to be acquired at 38% premium` }],
  offering: [{ dir: 'short', text: (n) => `${n} announces $500M secondary offering` }],
  guidance: [{ dir: 'neutral', text: (n) => `${n} reaffirms guidance at investor day` }],
  analyst: [
    { dir: 'long', text: (n) => `Analyst upgrades ${n} to buy, sees 25% upside` },
    { dir: 'short', text: (n) => `${n} downgraded to underperform on valuation` },
  ],
  legal: [{ dir: 'short', text: (n) => `Regulator opens investigation into ${n}` }],
  partnership: [
    { dir: 'long', text: (n) => `${n} announces strategic partnership with major cloud provider` },
  ],
  listing: [{ dir: 'long', text: (n) => `Major exchange to list ${n} perpetuals and spot pairs` }],
};
const SOURCES = ['businesswire', 'globenewswire', 'prnewswire', 'reuters', 'sec-8k', 'coindesk'];

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

export function createFeed(seed = 1, now: () => Date = () => new Date()): () => ClassificationInput {
  const rand = rng(seed);
  const prices = new Map(INSTRUMENTS.map((i) => [i.symbol, i.price]));
  const catalysts = Object.keys(HEADLINES);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let n = 0;
  return () => {
    const inst = pick(INSTRUMENTS);
    const catalyst = pick(catalysts);
    const h = pick(HEADLINES[catalyst]!);
    const drift = 1 + (rand() - 0.5) * 0.01;
    const price = Number((prices.get(inst.symbol)! * drift).toPrecision(6));
    prices.set(inst.symbol, price);
    // Triangular on 0.30..0.98: most classifications are middling, a few very sure, none certain.
    const confidence = Math.round((0.3 + 0.68 * ((rand() + rand()) / 2)) * 100) / 100;
    const at = now();
    const withHints = h.dir !== 'neutral' && rand() < 0.6;
    const sign = h.dir === 'long' ? 1 : -1;
    n++;
    return {
      source_id: `demo-${seed}-${at.getTime()}-${n}`,
      symbol: inst.symbol,
      catalyst,
      direction: h.dir,
      confidence,
      score: Math.round(confidence * 100),
      price,
      headline: h.text(inst.name),
      source: pick(SOURCES),
      published_at: new Date(at.getTime() - Math.floor(rand() * 20_000)).toISOString(),
      classified_at: at.toISOString(),
      expires_at: new Date(at.getTime() + 10 * 60_000).toISOString(),
      ...(withHints
        ? {
            stop_loss: Number((price * (1 - sign * 0.03)).toPrecision(6)),
            take_profit: Number((price * (1 + sign * 0.06)).toPrecision(6)),
          }
        : {}),
      meta: { model: 'catalyst-bot-demo', latency_ms: Math.floor(rand() * 900) },
    };
  };
}
