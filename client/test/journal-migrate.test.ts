import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal, JournalVersionError, SCHEMA_VERSION } from '../src/journal/index.js';

// A journal written by the client before versioned migrations (fixtures/README.md) must open with today's code
// without losing or changing a row: friends upgrade the client over a live journal.

const FIXTURES = resolve(import.meta.dirname, 'fixtures');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cc-jm-'));
  dirs.push(dir);
  const file = join(dir, 'journal.sqlite');
  copyFileSync(join(FIXTURES, 'journal-v0.sqlite'), file);
  return file;
}

describe('journal migrations', () => {
  it('an unversioned journal made by the old code opens, migrates, and keeps every row', () => {
    const file = copyFixture();
    const before = new Database(file, { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(0);
    before.close();

    const j = Journal.open(file);
    expect(j.schemaVersion()).toBe(SCHEMA_VERSION);
    // The public API reads the old rows as the old code did.
    expect(j.cursor()).toEqual({ epoch: 'ep-fixture', seq: 10 });
    expect(j.positions()).toEqual([{ market: 'BTC/USDT', amount: 0.001, cost: expect.closeTo(60.08, 9) }]);
    expect(j.totalRealized()).toBeCloseTo(0.908, 9);
    expect(j.openIntents().map((i) => i.client_order_id)).toEqual(['csFIXTURE-1-s', 'csFIXTURE-6-e']);
    expect(j.paperBalances()).toEqual({ BTC: 0.001, USDT: expect.closeTo(939.92, 9) });
    expect(j.decisions({ limit: 100 })).toHaveLength(7);
    expect(j.gaps()).toHaveLength(1);
    j.close();

    // Every row of every old table, compared column by column with what the old code stored.
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'journal-v0.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>[]
    >;
    const db = new Database(file, { readonly: true });
    for (const [table, rows] of Object.entries(expected)) {
      const now = db.prepare(`SELECT * FROM ${table} ORDER BY 1`).all() as Record<string, unknown>[];
      expect(now.length, table).toBe(rows.length);
      now.forEach((r, k) => expect(r, `${table} row ${k}`).toMatchObject(rows[k]!));
    }
    // New columns start empty on old rows.
    expect(db.prepare('SELECT COUNT(*) AS n FROM intents WHERE order_params IS NOT NULL').get()).toEqual({
      n: 0,
    });
    db.close();
  });

  it('the migrated journal keeps working: a fill on an old open intent moves the old position once', () => {
    const j = Journal.open(copyFixture());
    try {
      j.updateIntent(
        'csFIXTURE-1-s',
        { status: 'filled', filled: 0.001, avgPrice: 57000, feeQuote: 0.057 },
        1,
      );
      expect(j.positions()).toEqual([]);
      expect(j.totalRealized()).toBeCloseTo(0.908 + (57 - 0.057 - 60.08), 9);
    } finally {
      j.close();
    }
  });

  it('opening twice is a no-op; a journal from a newer client is refused, not damaged', () => {
    const file = copyFixture();
    Journal.open(file).close();
    const j = Journal.open(file);
    expect(j.schemaVersion()).toBe(SCHEMA_VERSION);
    j.close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Journal.open(file)).toThrow(JournalVersionError);
  });
});
