import { expect, it } from 'vitest';
import { classification } from '../helpers/server.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { startTarget } from '../helpers/target.js';

/** A publisher pointed at a gateway (which takes no signals) is told where ingest is, not only "405". */
describeWithNats('POST /v1/signals on a gateway', () => {
  const post = (url: string, key: string) =>
    fetch(`${url}/v1/signals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(classification(1)),
    });

  it('answers 405 naming an ingest node; with cluster.ingest_url, that URL', async () => {
    const t = await startTarget('gateway');
    const res = await post(t.url, t.publishKey);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    const body = (await res.json()) as { detail: string };
    expect(body.detail).toMatch(/cluster gateway and takes no signals: post to an ingest node/);

    const named = await startTarget('gateway', {
      // nats_urls is the target's own cluster (startTarget puts it over this one).
      cluster: { nats_urls: ['nats://127.0.0.1:1'], ingest_url: 'https://ingest.example.org/' },
    });
    const r2 = await post(named.url, named.publishKey);
    expect(r2.status).toBe(405);
    expect(((await r2.json()) as { detail: string }).detail).toMatch(
      /post to https:\/\/ingest\.example\.org\/v1\/signals$/,
    );
  });
});
