import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { StorageType } from '@nats-io/jetstream';
import { KvWatchInclude, type KV } from '@nats-io/kv';
import { beforeAll, expect, it } from 'vitest';
import { KvLease } from '../../src/jetstream/lease.js';
import { LeaseRecordSchema, type LeaseRecord } from '../../src/jetstream/lease-term.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';
import { Waiter } from './waiter.js';

// Time budget: a few seconds (standalone nats-server, one 2 s term after the kill).
const TERM = { termMs: 2_000, skewMs: 300 };
const CHILD = fileURLToPath(new URL('./lease-child.ts', import.meta.url));

describeWithNats('KV lease: kill -9 of the holder process', () => {
  const c = useCluster({ size: 1, connect: 'lease-kill-test' });
  let kv: KV;
  beforeAll(async () => {
    kv = await c.h.kvm.create('lease_kill', { history: 1, storage: StorageType.File });
  });

  it('the other contender takes over only after the dead holder’s term plus the margin, and within it', async () => {
    const events: string[] = [];
    const waiter = new Waiter();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: {
        ...process.env,
        LEASE_NATS_URLS: c.urls.join(','),
        LEASE_BUCKET: 'lease_kill',
        LEASE_KEY: 'k',
        LEASE_NODE: 'child',
        LEASE_TERM_MS: String(TERM.termMs),
        LEASE_SKEW_MS: String(TERM.skewMs),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      events.push((JSON.parse(line) as { event: string }).event);
      waiter.wake();
    });
    try {
      await waiter.until(() => events.includes('acquired'), 20_000, 'the child to acquire');

      // Every record written to the key, in order, from before the contender starts.
      const writes: LeaseRecord[] = [];
      const watch = await kv.watch({ key: 'k', include: KvWatchInclude.LastValue });
      void (async () => {
        for await (const e of watch) {
          if (e.operation !== 'PUT') continue;
          writes.push(LeaseRecordSchema.parse(e.json()));
          waiter.wake();
        }
      })();
      const h = await c.open('lease-survivor');
      const survivor = new KvLease({
        kv: await h.kvm.open('lease_kill'),
        key: 'k',
        node: 'survivor',
        ...TERM,
      });
      let acquiredAt = 0;
      survivor.on('acquired', () => {
        acquiredAt = Date.now();
        waiter.wake();
      });
      survivor.start();
      // The child renews while the survivor waits: the survivor must not take it meanwhile.
      await waiter.until(() => writes.length >= 3, 10_000, 'two renewals by the child');
      expect(acquiredAt).toBe(0);

      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exited;
      await waiter.until(() => acquiredAt > 0, TERM.termMs * 3, 'the survivor to take over');
      await waiter.until(() => writes.some((w) => w.node === 'survivor'), 5_000, "the survivor's record");
      const last = writes.filter((w) => w.node === 'child').at(-1)!;
      const taken = writes.find((w) => w.node === 'survivor')!.until_ms - TERM.termMs;
      // Not before the dead holder's term plus the margin (its write is timed from before it was sent) ...
      expect(taken).toBeGreaterThanOrEqual(last.until_ms + TERM.skewMs);
      // ... and soon after it: one term plus the margin after the kill, plus scheduling slack.
      console.log(
        `lease handover: ${acquiredAt - killedAt} ms after kill -9 (term ${TERM.termMs}, margin ${TERM.skewMs})`,
      );
      expect(acquiredAt - killedAt).toBeLessThan(TERM.termMs + TERM.skewMs + 1_000);
      expect(survivor.isHeld()).toBe(true);
      watch.stop();
      await survivor.stop();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
