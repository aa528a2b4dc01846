import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChildServer } from './helpers/child-server.js';
import { classification, tempDir } from './helpers/server.js';

/**
 * Convention for every ```python block in README.md and docs/*.md: it runs, as written, with python3 against a
 * real server process, with CATALYST_URL, CATALYST_PUBLISH_KEY, CATALYST_READ_KEY and CATALYST_ADMIN_KEY set,
 * cwd a fresh temp dir and integrations/python on PYTHONPATH. The server holds one signal before the block runs.
 * A block that is deliberately a fragment is preceded by `<!-- docs-test: skip REASON -->`; it is reported as a
 * skipped test whose name carries the reason.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNDEFINED_NAMES = path.join(ROOT, 'server/test/helpers/py-undefined-names.py');
const SKIP = /^<!--\s*docs-test:\s*skip\s+(.+?)\s*-->$/;

interface Block {
  where: string;
  code: string;
  skip?: string;
}

function pythonBlocks(file: string): Block[] {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```python') continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed python block`);
    let prev = i - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const skip = prev >= 0 ? SKIP.exec(lines[prev]!.trim())?.[1] : undefined;
    out.push({ where: `${file}:${i + 1}`, code: lines.slice(i + 1, end).join('\n') + '\n', skip });
    i = end;
  }
  return out;
}

const FILES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];
const BLOCKS = FILES.flatMap(pythonBlocks);

function python(args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const p = spawn('python3', args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('Python code samples in README.md and docs/*.md run as written', () => {
  it('finds the samples (the docs have some; a broken extractor must not pass silently)', () => {
    expect(BLOCKS.filter((b) => !b.skip).length).toBeGreaterThan(0);
    for (const b of BLOCKS.filter((x) => x.skip)) expect(b.skip, b.where).toMatch(/\S/);
  });

  for (const b of BLOCKS) {
    if (b.skip) {
      // A fragment marked `<!-- docs-test: skip REASON -->` (e.g. the lines that go into Catalyst-Bot's own
      // alerts.py): listed with its reason, and the test above requires the reason to be there.
      it.skip(`${b.where} (docs-test: skip ${b.skip})`, () => undefined);
      continue;
    }
    it(`${b.where}`, { timeout: 60_000 }, async () => {
      const server = await ChildServer.start();
      const seed = await fetch(`${server.url}/v1/signals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.keys.publishKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(classification()),
      });
      expect(seed.status).toBe(201);
      const cwd = tempDir('catalyst-docs-py-');
      const file = path.join(cwd, 'sample.py');
      writeFileSync(file, b.code);
      // Statically first: a name used only on a path the run does not take (an error branch) must exist too.
      const names = await python([UNDEFINED_NAMES, file], cwd, {});
      expect(names.code, `${b.where}: ${names.stderr}`).toBe(0);
      const r = await python([file], cwd, {
        CATALYST_URL: server.url,
        CATALYST_PUBLISH_KEY: server.keys.publishKey,
        CATALYST_READ_KEY: server.keys.readKey,
        CATALYST_ADMIN_KEY: server.keys.adminKey,
        PYTHONPATH: path.join(ROOT, 'integrations/python'),
      });
      expect(r.code, `${b.where} exited ${r.code}:\n${r.stderr}`).toBe(0);
    });
  }
});
