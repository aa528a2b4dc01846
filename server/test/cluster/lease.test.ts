import { StorageType } from '@nats-io/jetstream';
import { KvWatchInclude, type KV } from '@nats-io/kv';
import { beforeAll, expect, it } from 'vitest';
import { KvLease } from '../../src/jetstream/lease.js';
import { LeaseRecordSchema } from '../../src/jetstream/lease-term.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';
import { Waiter } from './waiter.js';

const TERM = { termMs: 900, skewMs: 150 };

describeWithNats('KV lease on a real nats-server', () => {
  const c = useCluster({ size: 1, connect: 'lease-test' });
  let kv: KV;
  beforeAll(async () => {
    kv = await c.h.kvm.create('lease_test', { history: 1, storage: StorageType.File });
  });

  /** A contender on its own connection, with every event counted and waiters woken. */
  async function contender(key: string, node: string, now?: () => number) {
    const h = await c.open(`lease-${node}`);
    const waiter = new Waiter();
    const lease = new KvLease({
      kv: await h.kvm.open('lease_test'),
      key,
      node,
      ...TERM,
      ...(now ? { now } : {}),
    });
    const events: string[] = [];
    lease.on('acquired', () => {
      events.push('acquired');
      waiter.wake();
    });
    lease.on('lost', (why) => {
      events.push(`lost: ${why}`);
      waiter.wake();
    });
    return { lease, events, waiter };
  }

  it('two contenders: exactly one holds, renews, and the other takes over when it stops', async () => {
    const a = await contender('two', 'a');
    const b = await contender('two', 'b');
    a.lease.start();
    b.lease.start();
    const any = new Waiter();
    a.lease.on('acquired', () => any.wake());
    b.lease.on('acquired', () => any.wake());
    await any.until(() => a.events.length + b.events.length > 0, 10_000, 'one contender to acquire');
    const [holder, other] = a.events.length > 0 ? [a, b] : [b, a];

    // Four renewals (each a new KV revision written by the holder), while the other only waits.
    const seen: string[] = [];
    const w = await kv.watch({ key: 'two', include: KvWatchInclude.UpdatesOnly });
    for await (const e of w) {
      seen.push(LeaseRecordSchema.parse(e.json()).node);
      expect(holder.lease.isHeld() && !other.lease.isHeld()).toBe(true);
      if (seen.length === 4) break;
    }
    expect(seen).toEqual(Array(4).fill(holder.lease.node));
    expect(holder.events).toEqual(['acquired']);
    expect(other.events).toEqual([]);

    // A holder that stops ends its term in KV, so the other need not wait the term out.
    const stoppedAt = Date.now();
    await holder.lease.stop();
    expect(holder.lease.isHeld()).toBe(false);
    await other.waiter.until(() => other.events.length > 0, 10_000, 'the other to take over');
    expect(other.events).toEqual(['acquired']);
    expect(Date.now() - stoppedAt).toBeLessThan(TERM.termMs);
    await other.lease.stop();
  });

  it('a holder stops acting the moment a renewal is refused', async () => {
    const a = await contender('refused', 'a');
    a.lease.start();
    await a.waiter.until(() => a.events.length > 0, 10_000, 'a to acquire');
    // Someone else writes the entry (a successor that took over while a was cut off): a's revision is stale.
    await kv.put('refused', JSON.stringify({ node: 'z', until_ms: Date.now() + 60_000 }));
    await a.waiter.until(() => a.events.length > 1, 10_000, 'a to lose the lease');
    expect(a.events[1]).toMatch(/^lost: renewal failed/);
    expect(a.lease.isHeld()).toBe(false);
    await a.lease.stop();
    // It did not write over z's term.
    expect(LeaseRecordSchema.parse((await kv.get('refused'))!.json()).node).toBe('z');
  });

  it('a holder whose term ran out (a paused process) stops acting before any renewal runs', async () => {
    let offset = 0;
    const a = await contender('paused', 'a', () => Date.now() + offset);
    a.lease.start();
    await a.waiter.until(() => a.events.length > 0, 10_000, 'a to acquire');
    expect(a.lease.isHeld()).toBe(true);
    offset = TERM.termMs; // as if the process had been stopped for a whole term
    expect(a.lease.isHeld()).toBe(false);
    expect(a.events[1]).toBe('lost: term ended before a renewal succeeded');
    await a.lease.stop();
  });
});
