import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChildServer } from '../../server/test/helpers/child-server.js';
import { tempDir } from '../../server/test/helpers/server.js';

/**
 * The client commands in README.md and docs/*.md, as written. Two checks:
 *  1. every npx invocation of catalyst-client (code lines and inline code) has the `npx --no -- catalyst-client`
 *     form: without `--`, npm 11 takes --config, -c, --help and --version for itself (docs/client.md says why);
 *  2. the safe ones (help, --version, init, check, status, history, pin, config-reference) found in ```sh
 *     blocks and inline code are run as written, through npx, in a friend's folder with the bin installed
 *     (node_modules/.bin), against a real server process. Example placeholders are replaced
 *     (https://signals.example.org -> the server, <dir>/client/catalyst.yaml -> that folder's config).
 * `run` and `replay` do not end by themselves / need history: they are listed as skipped with that reason.
 * A new command in the docs is picked up without touching this file.
 */
const REPO = resolve(import.meta.dirname, '../..');
const DOCS = [
  'README.md',
  ...readdirSync(join(REPO, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : [])),
];
const SAFE = new Set([
  'help',
  '--help',
  '--version',
  'init',
  'check',
  'status',
  'history',
  'pin',
  'config-reference',
]);
const NPX = /npx\b[^`\n]*?\bcatalyst-client\b[^`\n]*/g;

interface Cmd {
  where: string;
  text: string;
}

function commands(): Cmd[] {
  const out: Cmd[] = [];
  for (const file of DOCS) {
    const lines = readFileSync(join(REPO, file), 'utf8').split('\n');
    let fence: string | undefined;
    lines.forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      const f = /^\s*```(\w*)/.exec(line);
      if (f) {
        fence = fence === undefined ? f[1] : undefined;
        return;
      }
      if (fence === undefined) {
        for (const m of line.matchAll(/`([^`]+)`/g))
          if (/^npx\b.*\bcatalyst-client\b/.test(m[1]!)) out.push({ where, text: m[1]! });
      } else if (fence === 'sh' || fence === 'bash' || fence === '') {
        for (const m of line.replace(/\s#\s.*$/, '').matchAll(NPX)) out.push({ where, text: m[0].trim() });
      }
    });
  }
  return out;
}

const CMDS = commands();
const subcommand = (text: string) =>
  text
    .split(/\s+/)
    .slice(4)
    .find((a, i, all) => !(all[i - 1] === '--config' || a === '--config'));

function npx(args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((done, reject) => {
    const p = spawn('npx', args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => done({ code, out }));
  });
}

/** A friend's folder with the client installed (the bin in node_modules/.bin) and the read key in .env. */
function friendDir(key: string): string {
  const dir = tempDir('cc-docs-');
  mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
  symlinkSync(join(REPO, 'client/bin/catalyst-client.js'), join(dir, 'node_modules/.bin/catalyst-client'));
  writeFileSync(join(dir, '.env'), `CATALYST_SERVER_KEY=${key}\n`);
  return dir;
}

describe('catalyst-client commands in README.md and docs/*.md', () => {
  it('are found, and every npx one uses `npx --no -- catalyst-client`', () => {
    expect(CMDS.length).toBeGreaterThan(5);
    const bad = CMDS.filter((c) => !/^npx --no -- catalyst-client(\s|$)/.test(c.text));
    expect(bad.map((c) => `${c.where}: ${c.text}`)).toEqual([]);
  });

  const runnable = CMDS.filter((c) => SAFE.has(subcommand(c.text) ?? ''));
  // Skipped on purpose, one visible entry each: `run` follows the stream until stopped, and `...` placeholders
  // are not commands. The --no -- form of these lines is still checked by the test above.
  for (const c of CMDS.filter((x) => !runnable.includes(x)))
    it.skip(`${c.where}: ${c.text} (not run: "${subcommand(c.text)}" is not in SAFE: long-running, or a placeholder)`, () => {});

  it(`run as written against a real server (${runnable.length} commands)`, { timeout: 180_000 }, async () => {
    expect(runnable.length).toBeGreaterThan(3);
    const server = await ChildServer.start();
    const shared = friendDir(server.keys.readKey);
    const env = { CATALYST_SERVER_KEY: server.keys.readKey };
    const init = await npx(['--no', '--', 'catalyst-client', 'init', '--server', server.url], shared, env);
    expect(init.code, init.out).toBe(0);
    for (const c of runnable) {
      const text = c.text
        .replaceAll('https://signals.example.org', server.url)
        .replaceAll('<dir>/client/catalyst.yaml', join(shared, 'catalyst.yaml'));
      // init writes a new file, so it gets a folder of its own; everything else uses the initialised one.
      const cwd = subcommand(text) === 'init' ? friendDir(server.keys.readKey) : shared;
      const r = await npx(text.split(/\s+/).slice(1), cwd, env);
      expect(r.code, `${c.where}: ${text}\n${r.out}`).toBe(0);
      expect(r.out, `${c.where}: ${text} printed npm's output, not the client's`).not.toMatch(
        /^npm error|Unknown cli config|parsed as a normal command line argument/m,
      );
    }
  });
});
