import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/server.js';

/**
 * The operator's commands in README.md and docs/*.md, and the status page's login hint, as written. There is
 * no `catalyst-server` on anyone's PATH (the bin is linked into the checkout's node_modules/.bin), so a bare
 * `catalyst-server keys …` is "command not found". Every command line in a sh block must say
 * `npx --no -- catalyst-server` (or run the built file with node), and the keys/db/stats ones are run as
 * written, in order, in a folder laid out like a checkout, on a data directory `init` made there.
 */
const REPO = resolve(import.meta.dirname, '../..');
const DOCS = [
  'README.md',
  ...readdirSync(join(REPO, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
];

function shLines(): { where: string; text: string }[] {
  const out: { where: string; text: string }[] = [];
  for (const file of DOCS) {
    let fence: string | undefined;
    readFileSync(join(REPO, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const f = /^\s*```(\w*)/.exec(line);
        if (f) {
          fence = fence === undefined ? f[1] : undefined;
          return;
        }
        if (fence === 'sh' || fence === 'bash' || fence === '')
          out.push({ where: `${file}:${i + 1}`, text: line.replace(/\s#\s.*$/, '').trim() });
      });
  }
  return out;
}

function npx(args: string[], cwd: string) {
  return new Promise<{ code: number | null; out: string }>((done, reject) => {
    const p = spawn('npx', args, { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => done({ code, out }));
  });
}

describe('catalyst-server commands in README.md and docs/*.md', () => {
  const lines = shLines();

  it('never start with a bare catalyst-server (not on PATH); the status page hint neither', () => {
    const bare = lines.filter((l) => /(^|[;&|]\s*|sudo( -u \S+)? )catalyst-server\s/.test(l.text));
    expect(bare.map((l) => `${l.where}: ${l.text}`)).toEqual([]);
    // The login form's hint, of the status page and of the track-record page.
    for (const file of ['server/web/src/login.tsx', 'server/web/src/track-record/app.tsx']) {
      const hint = readFileSync(join(REPO, file), 'utf8');
      const shown = [...hint.matchAll(/create: '([^']*catalyst-server[^']*)'/g)];
      expect(shown.length, file).toBe(1);
      for (const m of shown) expect(m[1]).toMatch(/^npx --no -- catalyst-server /);
    }
  });

  it('keys, db and stats run as written inside a checkout', { timeout: 120_000 }, async () => {
    const ops = lines.filter((l) => /^npx --no -- catalyst-server (keys|db|stats)\b/.test(l.text));
    expect(ops.length).toBeGreaterThanOrEqual(8);
    // A checkout's layout: the bin linked in node_modules/.bin, the data directory ./catalyst-data.
    const dir = tempDir('cs-docs-');
    mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
    symlinkSync(join(REPO, 'server/bin/catalyst-server.js'), join(dir, 'node_modules/.bin/catalyst-server'));
    const init = await npx(['--no', '--', 'catalyst-server', 'init'], dir);
    expect(init.code, init.out).toBe(0);
    // What init says to run next works as printed, too.
    expect(init.out).toMatch(
      /^Start it: npx --no -- catalyst-server serve --config \S+catalyst-server\.json /m,
    );
    mkdirSync(join(dir, 'backups'));
    for (const l of ops) {
      const text = l.text.replace('/backups/catalyst-$(date +%F).db', join(dir, 'backups/catalyst.db'));
      const r = await npx(text.split(/\s+/).slice(1), dir);
      expect(r.code, `${l.where}: ${text}\n${r.out}`).toBe(0);
      expect(r.out, `${l.where}: npm, not the server, answered`).not.toMatch(/^npm error/m);
    }
  });
});
