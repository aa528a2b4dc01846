import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REASONS, isReasonCode, reasonLabel, renderReasonReference } from '../src/decide/reasons.js';
import { DOC, REASONS_END, REASONS_START } from '../scripts/gen-config-doc.js';

// One catalogue of decision reason codes: the code, the report line and the docs cannot drift apart.

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('reason codes', () => {
  it('every code is verdict:name with a one-line meaning', () => {
    for (const [code, meaning] of Object.entries(REASONS)) {
      expect(code).toMatch(/^(trade|skipped|rejected|deferred):[a-z_]+$/);
      expect(meaning.length, code).toBeGreaterThan(10);
      expect(meaning).not.toContain('\n');
    }
  });

  it('every code literal in client/src is in the catalogue', () => {
    const src = resolve(import.meta.dirname, '../src');
    const found = new Set<string>();
    for (const f of sources(src))
      for (const m of readFileSync(f, 'utf8').matchAll(/'((?:trade|skipped|rejected|deferred):[a-z_]+)'/g))
        found.add(m[1]!);
    expect(found.size).toBeGreaterThan(20);
    for (const c of found) expect(isReasonCode(c), `${c} is used but not catalogued`).toBe(true);
  });

  it('docs/client.md lists the current catalogue (npx tsx client/scripts/gen-config-doc.ts)', () => {
    const doc = readFileSync(DOC, 'utf8');
    const a = doc.indexOf(REASONS_START);
    const b = doc.indexOf(REASONS_END);
    expect(a).toBeGreaterThan(0);
    expect(doc.slice(a + REASONS_START.length, b).trim()).toBe(renderReasonReference().trim());
  });

  it('report labels drop the verdict', () => {
    expect(reasonLabel('skipped:price_band')).toBe('price band');
    expect(reasonLabel('deferred:until_open')).toBe('until open');
  });
});
