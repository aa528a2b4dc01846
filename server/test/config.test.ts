import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { ClusterSchema, ENV_TABLE, loadConfig } from '../src/config.js';
import { renderConfigFile } from '../src/commands/init.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/server.js';

describe('server configuration', () => {
  it('defaults need no configuration at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      sync: 'normal',
      heartbeat_ms: 15_000,
      ws_max_per_key: 5,
    });
    expect(path.isAbsolute(c.data_dir)).toBe(true);
  });

  it('file < env < flags, through one schema', () => {
    const file = path.join(tempDir(), 'c.json');
    writeFileSync(
      file,
      '{\n  // comment lines are allowed\n  "port": 1111,\n  "sync": "full",\n  "heartbeat_ms": 1000\n}\n',
    );
    const c = loadConfig({
      file,
      env: { CATALYST_PORT: '2222', CATALYST_HEARTBEAT_MS: '2000' },
      flags: { port: 3333 },
    });
    expect(c.port).toBe(3333);
    expect(c.heartbeat_ms).toBe(2000);
    expect(c.sync).toBe('full');
  });

  it('reports every error at once, each with its path', () => {
    let err: unknown;
    try {
      loadConfig({
        env: { CATALYST_PORT: '70000', CATALYST_SYNC: 'sometimes' },
        flags: { heartbeat_ms: -1, jwt: { issuer: 'x', audience: 'y' } } as never,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    for (const p of ['port:', 'sync:', 'heartbeat_ms:', 'jwt:']) expect(problems).toContain(p);
    expect((err as ConfigError).problems.length).toBeGreaterThanOrEqual(4);
  });

  it('unknown keys in the file are errors, not silently ignored', () => {
    const file = path.join(tempDir(), 'c.json');
    writeFileSync(file, '{"prot": 1}');
    expect(() => loadConfig({ file })).toThrow(/prot/);
  });

  it('every env variable in the table maps to a real key', () => {
    const keys = Object.keys(loadConfig({}));
    for (const key of Object.values(ENV_TABLE)) expect(keys.includes(key) || key === 'server_id').toBe(true);
  });

  it('the generated config file documents every key and parses back to the defaults', () => {
    const dir = tempDir();
    const text = renderConfigFile(dir);
    const file = path.join(dir, 'c.json');
    writeFileSync(file, text);
    expect(loadConfig({ file })).toEqual(loadConfig({ flags: { data_dir: dir } }));
    expect(text.match(/^\s*\/\/ /gm)!.length).toBeGreaterThan(20);
  });

  it('the generated config file names every cluster key, nested tls keys too, with its meaning', () => {
    const text = renderConfigFile(tempDir());
    const tls = Object.keys(ClusterSchema.shape.tls.unwrap().shape);
    expect(tls.length).toBe(3);
    for (const k of [...Object.keys(ClusterSchema.shape), ...tls])
      expect(text, k).toMatch(new RegExp(`^\\s*// +${k}: \\S`, 'm'));
    expect(text).toMatch(/serve --role ingest\|gateway\|both/);
  });

  it('serve exits 2 with every problem listed for a bad config', async () => {
    const r = await runCli(['serve', '--port', 'abc', '--sync', 'normal', '--data-dir', tempDir()], {
      env: { CATALYST_HEARTBEAT_MS: '0' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/port:/);
    expect(r.stderr).toMatch(/heartbeat_ms:/);
  });
});
