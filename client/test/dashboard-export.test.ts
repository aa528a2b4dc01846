import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../src/commands/export.js';
import type { Context } from '../src/context.js';
import { parseConfig } from '../src/config.js';
import { ExportQuerySchema } from '../src/dashboard/api.js';
import { exportCsv } from '../src/dashboard/export.js';
import { startDashboard, type DashboardServer } from '../src/dashboard/server.js';
import { EXPORT_KINDS } from '../src/export.js';
import { Journal } from '../src/journal/index.js';
import { testLog } from './helpers/logger.js';
import { writeExportJournal } from './helpers/export-journal.js';

// The dashboard's CSV download against `catalyst-client export` on the same real journal: byte for byte the
// same file, behind the dashboard's token, as an attachment, bounded by `since` and a row cap.

let dir: string;
let journalPath: string;
let dash: DashboardServer;
let capped: DashboardServer;
const T0 = Date.parse('2026-12-01T15:00:00Z');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-dash-export-'));
  mkdirSync(join(dir, 'data'), { mode: 0o700 });
  // The API needs no page: a stand-in shell.
  mkdirSync(join(dir, 'web'));
  writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html>');
  journalPath = join(dir, 'data', 'journal.sqlite');
  writeExportJournal(journalPath, T0);
  const base = { config: parseConfig({}), journalPath, log: testLog, webDir: join(dir, 'web') };
  dash = await startDashboard(base);
  capped = await startDashboard({ ...base, exportMaxRows: 2 });
});

afterAll(async () => {
  await dash?.close();
  await capped?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(d: DashboardServer, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: d.port, path, headers: { host: `127.0.0.1:${d.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
const auth = (d: DashboardServer) => ({ authorization: `Bearer ${d.token}` });

/** What `catalyst-client export <kind> [--since]` prints on stdout (the command, in process). */
function cli(kind: string, since?: string): string {
  const ctx = { journalPath, configPath: join(dir, 'config.yaml') } as Context;
  let out = '';
  expect(exportCommand(ctx, kind, since ? { since } : {}, (c) => (out += c))).toBe(0);
  return out;
}

describe('dashboard CSV export', () => {
  it('sends byte for byte what catalyst-client export prints, as an attachment, for each kind and since', async () => {
    for (const kind of EXPORT_KINDS) {
      for (const since of [undefined, '2026-12-01T15:30:00Z', '2026-12-01T17:00:00.150Z']) {
        const q = new URLSearchParams({ kind, ...(since ? { since } : {}) });
        const r = await get(dash, `/api/export?${q}`, auth(dash));
        expect(r.status).toBe(200);
        expect(r.body).toBe(cli(kind, since));
        expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
        expect(r.headers['content-disposition']).toMatch(
          new RegExp(`^attachment; filename="catalyst-${kind}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`),
        );
        expect(r.headers['content-security-policy']).toContain("default-src 'self'");
        expect(r.headers['cache-control']).toBe('no-store');
      }
    }
    // Not vacuous: the rows are there, a formula made inert.
    const all = await get(dash, '/api/export?kind=decisions', auth(dash));
    expect(all.body.split('\r\n').filter(Boolean)).toHaveLength(4);
    expect(all.body).toContain(`"'=HYPERLINK(""http://x""), ""quoted""\nline"`);
  });

  it('is refused without the token or with a wrong one', async () => {
    const wrong = dash.token.slice(0, -1) + (dash.token.endsWith('A') ? 'B' : 'A');
    for (const headers of [{}, { authorization: `Bearer ${wrong}` }, auth(capped)]) {
      const r = await get(dash, '/api/export?kind=fills', headers);
      expect(r.status).toBe(401);
      expect(r.body).not.toContain('execution_id');
    }
  });

  it('a download past the row cap is refused with what to do, not cut short', async () => {
    const over = await get(capped, '/api/export?kind=decisions', auth(capped));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body)).toEqual({
      error: 'too_many_rows',
      message:
        'more than 2 decisions: choose a shorter period, or run catalyst-client export decisions (no limit)',
    });
    // Exactly at the cap: sent whole.
    const at = await get(capped, '/api/export?kind=orders', auth(capped));
    expect(at.status).toBe(200);
    expect(at.body).toBe(cli('orders'));
    const since = await get(capped, '/api/export?kind=decisions&since=2026-12-01T15:30:00Z', auth(capped));
    expect(since.status).toBe(200);
    expect(since.body.split('\r\n').filter(Boolean)).toHaveLength(3);
  });

  it('bad input is a one-line 400', async () => {
    for (const [q, message] of [
      ['kind=trades', 'give kind=decisions|orders|fills'],
      ['', 'give kind=decisions|orders|fills'],
      ['kind=fills&since=yesterday', 'since: expected a duration (30m, 2h, 1d) or an ISO date'],
      ['kind=fills&limit=5', 'give kind=decisions|orders|fills'],
    ] as const) {
      const r = await get(dash, `/api/export?${q}`, auth(dash));
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ error: 'bad_request', message });
    }
  });

  it('the page and the CLI offer the same kinds', () => {
    expect(ExportQuerySchema.shape.kind.options).toEqual([...EXPORT_KINDS]);
  });

  it('a long export lets the event loop turn between slices (run --dashboard shares it with trading)', async () => {
    const j = Journal.open(journalPath);
    try {
      let turns = 0;
      let counting = true;
      const tick = () => {
        if (!counting) return;
        turns++;
        setImmediate(tick);
      };
      setImmediate(tick);
      // Slices of 1 line: header + 3 decisions give the loop 4 turns (500 lines a slice in the server).
      const r = await exportCsv(j, new URLSearchParams({ kind: 'decisions' }), T0, 10, 1);
      counting = false;
      expect(r.ok && r.body).toBe(cli('decisions'));
      expect(turns).toBeGreaterThanOrEqual(3);
    } finally {
      j.close();
    }
  });
});
