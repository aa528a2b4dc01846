import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

/**
 * The pages ship pre-built inside the client and server packages (dist/web), so a friend's tarball install needs
 * no build step, and each page stays within the budget: ≤ 150 KB of gzipped JavaScript + CSS per page.
 * `npm test` builds first, so dist/web exists here.
 */
const BUDGET_GZIP_BYTES = 150 * 1024;
const root = path.resolve(import.meta.dirname, '../..');
const PAGES = [
  { name: 'client dashboard', dir: path.join(root, 'client/dist/web') },
  { name: 'server status page', dir: path.join(root, 'server/dist/web') },
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('built pages', () => {
  for (const page of PAGES) {
    it(`${page.name}: index.html + assets, no source maps, within ${BUDGET_GZIP_BYTES / 1024} KB gzipped`, () => {
      const all = files(page.dir);
      expect(all.map((f) => path.basename(f))).toContain('index.html');
      expect(all.filter((f) => f.endsWith('.map'))).toEqual([]);
      const code = all.filter((f) => /\.(js|css)$/.test(f));
      expect(code.length).toBeGreaterThan(0);
      const gz = code.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
      expect(gz).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
      // index.html loads only its own assets: nothing from a CDN, so the page works offline.
      const html = readFileSync(path.join(page.dir, 'index.html'), 'utf8');
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    });
  }
});
