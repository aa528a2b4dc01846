import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Signal } from '@catalyst-signal/shared';
import { FeedRowSchema, SnapshotSchema } from '../src/dashboard/api.js';
import { DashboardFeed } from '../src/dashboard/feed.js';
import { buildSnapshot } from '../src/dashboard/snapshot.js';
import { Journal } from '../src/journal/index.js';
import { testConfig } from './helpers/config.js';
import { baseSignal } from './helpers/signals.js';

// Shares the broker held at start, adopted as the client's own (equities.outside_positions: adopt), on the
// dashboard: a feed card that says where they came from, live and in the snapshot, and the position marked.

let dir: string;
let journal: Journal;
const T0 = Date.parse('2026-11-23T14:31:00Z');
const config = testConfig({ exchange: { venue: 'us_equity' } } as never);
const TEXT = 'adopted 10 ABCD at 3.00 (held at the broker when the client started)';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cc-dadopt-'));
  journal = Journal.open(join(dir, 'j.sqlite'));
});
afterEach(() => {
  journal.close();
  rmSync(dir, { recursive: true, force: true });
});

const skip = (seq: number, at: number) =>
  journal.recordDecision({
    signal: baseSignal(seq, { epoch: 'e1', symbol: 'XYZ', confidence: 0.1 }, at) as Signal,
    receivedAt: at,
    decidedAt: at,
    decision: { verdict: 'skip', reason: 'skipped:confidence', detail: '0.1 < 0.6', legs: [] },
    intents: [],
  });

describe('dashboard: adopted positions', () => {
  it('the live feed sends an adoption card the moment the journal adopts', () => {
    const feed = new DashboardFeed(journal, () => T0);
    journal.adoptPosition({ symbol: 'ABCD', qty: 10, avgPrice: 3 }, T0);
    const events = feed.poll(true).filter((e) => e.kind !== 'presence');
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.kind).toBe('adoption');
    if (e.kind !== 'adoption') return;
    expect(FeedRowSchema.parse(e.adoption)).toMatchObject({
      kind: 'adoption',
      key: 'adoption:1',
      symbol: 'ABCD',
      verdict: 'adopted',
      price: 3,
      decided_at: T0,
      info: false,
      text: TEXT,
    });
  });

  it('the snapshot places it among the decisions by time and marks the adopted shares of the position', () => {
    skip(1, T0 - 60_000);
    journal.adoptPosition({ symbol: 'ABCD', qty: 10, avgPrice: 3 }, T0);
    journal.adoptPosition({ symbol: 'EFG', qty: 2.5, avgPrice: 0.4567 }, T0 + 1);
    skip(2, T0 + 60_000);
    const feed = new DashboardFeed(journal, () => T0 + 120_000);
    const snap = SnapshotSchema.parse(buildSnapshot(journal, feed, { config, now: () => T0 + 120_000 }));
    expect(snap.feed.map((r) => r.key)).toEqual(['decision:2', 'adoption:2', 'adoption:1', 'decision:1']);
    expect(snap.feed[1]!.text).toBe('adopted 2.5 EFG at 0.4567 (held at the broker when the client started)');
    expect(snap.feed[2]!.text).toBe(TEXT);
    expect(snap.feed[0]!.kind).toBe('signal');
    const abcd = snap.positions.find((p) => p.market === 'ABCD');
    expect(abcd).toMatchObject({ amount: 10, adopted: 10, entry: 3 });
  });

  it('positions without adoptions say 0 adopted', () => {
    skip(1, T0);
    const snap = buildSnapshot(journal, new DashboardFeed(journal, () => T0), { config, now: () => T0 });
    expect(snap.feed.map((r) => r.kind)).toEqual(['signal']);
    expect(snap.positions).toEqual([]);
  });
});
