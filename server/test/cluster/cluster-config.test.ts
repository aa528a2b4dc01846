import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config.js';

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
});
