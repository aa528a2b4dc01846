import { expect, it } from 'vitest';
import { FencedError, FencedPublisher, readPublished } from '../../src/jetstream/checkpoint-kv.js';
import { describeWithNats } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';

describeWithNats('checkpoint publishing is fenced on the meta revision', () => {
  const c = useCluster({ size: 1, connect: 'checkpoint-fence-test', clusterLog: true });

  it("a deposed holder's publish is refused and the successor's checkpoint stays", async () => {
    const meta = c.clusterLog.meta;
    // The first holder, and a rival that also saw no checkpoint: only one first write lands.
    const first = new FencedPublisher(meta, await readPublished(meta));
    const rival = new FencedPublisher(meta, undefined);
    await first.publish('note 1');
    await expect(rival.publish('rival note')).rejects.toBeInstanceOf(FencedError);

    // The first holder is paused; a successor reads what it published and publishes on from there.
    const seen = await readPublished(meta);
    expect(seen?.note).toBe('note 1');
    const successor = new FencedPublisher(meta, seen);
    await successor.publish('note 2');
    // The first holder wakes up and publishes from the revision it last wrote: refused by the fence.
    await expect(first.publish('note 1b')).rejects.toThrow(/another node published/);
    expect((await readPublished(meta))?.note).toBe('note 2');
    // The successor goes on.
    await successor.publish('note 3');
    expect((await readPublished(meta))?.note).toBe('note 3');
  });
});
