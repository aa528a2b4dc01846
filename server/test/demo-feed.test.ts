import { describe, expect, it } from 'vitest';
import { ClassificationSchema, effectiveAction } from '@catalyst-signal/shared';
import { DEMO_INSTRUMENTS, DEMO_OPENING, createFeed } from '../src/demo/feed.js';

// The demo feed looks like Catalyst-Bot (docs/signal-v2.md): US small caps at $0.10-$10, mostly info
// alerts, a minority of actions, each action shaped as Catalyst-Bot shapes it.

describe('demo feed', () => {
  it('emits valid v2 classifications in Catalyst-Bot mix and shape', () => {
    const t0 = Date.parse('2026-11-23T14:30:00Z');
    let i = 0;
    const next = createFeed(42, () => new Date(t0 + i++ * 1000));
    const items = Array.from({ length: 1000 }, () => ClassificationSchema.parse(next()));
    const symbols = new Set(DEMO_INSTRUMENTS.map((x) => x.symbol));
    const count: Record<string, number> = {};
    for (const c of items) {
      const action = effectiveAction(c);
      count[action] = (count[action] ?? 0) + 1;
      expect(symbols.has(c.symbol)).toBe(true);
      expect(c).toMatchObject({ asset_class: 'us_equity', currency: 'USD' });
      expect(['NASDAQ', 'NYSE', 'AMEX']).toContain(c.exchange);
      expect(c.price).toBeGreaterThanOrEqual(0.1);
      expect(c.price).toBeLessThanOrEqual(10);
      expect(c.sentiment).toBeDefined();
      expect(c.keywords?.length).toBeGreaterThan(0);
      expect(c.relevance).toBeGreaterThan(0);
      expect(c.score).toBeDefined();
      expect(c.source_id).toMatch(/^[0-9a-f]{16}$/);
      if (action === 'enter') {
        expect(c.direction).toBe('long');
        expect(['fda', 'merger']).toContain(c.catalyst);
        expect(c.stop_loss!).toBeLessThan(c.price);
        expect(c.take_profit!).toBeGreaterThan(c.price);
        expect(c.position_size_pct).toBeGreaterThan(0);
        expect(c.timeframe).toBe('intraday');
      }
      if (c.catalyst === 'fda')
        expect(DEMO_INSTRUMENTS.find((x) => x.symbol === c.symbol)?.biotech).toBe(true);
      if (action === 'exit') {
        expect(c.confidence).toBe(1);
        expect(c.keywords!.some((k) => ['going_concern', 'delisting', 'bankruptcy'].includes(k))).toBe(true);
      }
      // docs/publishing.md: exit and avoid are rules that fired (1.0), info makes no claim (0.0).
      if (action === 'avoid') expect(c.confidence).toBe(1);
      if (action === 'info') expect(c.confidence).toBe(0);
      if (action === 'avoid')
        expect(
          c.keywords!.some((k) => ['offering', 'dilution', 'warrant', 'reverse_split'].includes(k)),
        ).toBe(true);
    }
    expect(new Set(items.map((c) => c.source_id)).size).toBe(items.length);
    // A majority informational, a minority of each action.
    expect(count['info']! / items.length).toBeGreaterThan(0.5);
    for (const a of ['enter', 'avoid', 'exit']) {
      expect(count[a]! / items.length, a).toBeGreaterThan(0.03);
      expect(count[a]! / items.length, a).toBeLessThan(0.25);
    }
  });

  it('emits the scripted opening first, in order, then its random mix', () => {
    const script = [...DEMO_OPENING.pre, ...DEMO_OPENING.regular];
    const next = createFeed(7, () => new Date('2026-11-23T14:30:00Z'), script);
    const items = Array.from({ length: script.length + 20 }, () => ClassificationSchema.parse(next()));
    expect(items.slice(0, script.length).map((c) => [c.symbol, effectiveAction(c)])).toEqual(
      script.map((s) => [s.symbol, s.kind]),
    );
    expect(new Set(items.slice(script.length).map((c) => c.symbol)).size).toBeGreaterThan(3);
    expect(() => createFeed(1, undefined, [{ symbol: 'NOPE', kind: 'enter' }])).toThrow(
      /unknown demo symbol/,
    );
  });
});
