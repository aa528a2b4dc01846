import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { readConfigFile } from '../src/context.js';
import { runCli } from './helpers/client-process.js';

// A config the YAML parser cannot read is an invalid config (exit 2, as documented), and says where.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cc-cfgfile-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const BROKEN = 'mode: paper\nserver:\n  url: http://127.0.0.1:8787\n    key_env: X\n';

describe('config file syntax errors', () => {
  it('name the file, line and column', () => {
    const path = join(dir, 'catalyst.yaml');
    writeFileSync(path, BROKEN);
    let err: unknown;
    try {
      readConfigFile(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`${path}:3:8: YAML syntax: Nested mappings are not allowed`);
  });

  it('exit 2 from the CLI, like any invalid config', async () => {
    const path = join(dir, 'catalyst.yaml');
    writeFileSync(path, 'mode: paper\nrisk:\n\tmax_open_positions: 2\n');
    const r = await runCli(['-c', path, 'check'], {}, dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${path}:3:1: YAML syntax: Tabs are not allowed as indentation`);
  });
});
