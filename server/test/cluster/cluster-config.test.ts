import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('cluster block in the server config', () => {
  it('is absent by default (single-node mode) and fills its defaults when present', () => {
    expect(ConfigSchema.parse({}).cluster).toBeUndefined();
    const c = ConfigSchema.parse({ cluster: { nats_urls: ['nats://10.0.0.1:4222'] } }).cluster!;
    expect(c).toMatchObject({
      replicas: 3,
      duplicate_window_ms: 120_000,
      max_age_days: 0,
      request_timeout_ms: 2000,
    });
  });

  it('reports every problem at once: replicas 2, an http URL, a cert without its key, an unknown field', () => {
    const r = ConfigSchema.safeParse({
      cluster: {
        nats_urls: ['http://x:4222'],
        replicas: 2,
        tls: { cert_file: '/c.pem' },
        nats_url: 'typo',
      },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['cluster.nats_urls.0', 'cluster.replicas', 'cluster.tls']));
    expect(r.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
  });

  it('serve --role without a cluster block, or a cluster block without --role, exits 2 saying why', async () => {
    const dir = tempDir();
    const noRole = await runCli(['serve', '--data-dir', dir, '--port', '0', '--role', 'ingest']);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toMatch(/--role ingest is for cluster mode and needs a cluster block/);
    const conf = path.join(dir, 'c.json');
    writeFileSync(conf, JSON.stringify({ cluster: { nats_urls: ['nats://127.0.0.1:1'] } }));
    const noFlag = await runCli(['serve', '--data-dir', dir, '--port', '0', '-c', conf]);
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toMatch(
      /cluster block: say what this process does with --role ingest\|gateway\|both/,
    );
    const bad = await runCli(['serve', '--data-dir', dir, '-c', conf, '--role', 'primary']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ingest, gateway, both/);
  });
});
