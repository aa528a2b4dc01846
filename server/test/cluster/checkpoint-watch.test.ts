import { expect, it } from 'vitest';
import { FencedPublisher, readPublished, watchPublished } from '../../src/jetstream/checkpoint-kv.js';
import { CLUSTER_NAMES } from '../../src/jetstream/cluster-log.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { useCluster } from './cluster-fixture.js';

// A gateway mirrors the published checkpoint through a KV watch: a push consumer on one NATS server, which can
// stall without a word when that server dies. The watch also reads the note directly now and then.
describeWithNats('the published-checkpoint watch', () => {
  const c = useCluster({ size: 1, connect: 'checkpoint-watch-test', clusterLog: true });

  it('offers each published note once, in order; a note its consumer never delivered is read directly', async () => {
    const meta = c.clusterLog.meta;
    const pub = new FencedPublisher(meta, await readPublished(meta));
    await pub.publish('note 1');
    const notes: string[] = [];
    const w = await watchPublished(meta, (n) => notes.push(n), 100);
    try {
      await pollUntil('note 1', async () => notes.includes('note 1') || undefined, 5_000);
      await pub.publish('note 2');
      await pollUntil('note 2', async () => notes.includes('note 2') || undefined, 5_000);
      expect(notes).toEqual(['note 1', 'note 2']);

      // The stall: the watch's consumer is gone at the server, and nothing tells the watch.
      const stream = `KV_${CLUSTER_NAMES.metaBucket}`;
      for await (const ci of c.h.jsm.consumers.list(stream)) await c.h.jsm.consumers.delete(stream, ci.name);
      await pub.publish('note 3');
      await pollUntil('note 3', async () => notes.includes('note 3') || undefined, 5_000);
      await pub.publish('note 4');
      await pollUntil('note 4', async () => notes.includes('note 4') || undefined, 5_000);
      expect(notes).toEqual(['note 1', 'note 2', 'note 3', 'note 4']);
      expect(w.restarts, 'the direct read found note 3 and started the watch again').toBeGreaterThanOrEqual(
        1,
      );
    } finally {
      w.stop();
    }
  });
});
