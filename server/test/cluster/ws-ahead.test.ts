import { describe, expect, it } from 'vitest';
import { CloseCode } from '@catalyst-signal/shared';
import { startServer } from '../../src/app.js';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig } from '../../src/config.js';
import type { FanOut, SignalLogDriver } from '../../src/log/types.js';
import { createLogger } from '../../src/logger.js';
import { Replica } from '../../src/store/replica.js';
import { tempDir } from '../helpers/server.js';
import { connect, type Frame } from '../helpers/ws-client.js';
import { SignedLog } from './signed-log.js';

/**
 * A follower log driven by hand: the replica a gateway keeps, applied and published in one step exactly as
 * GatewayLog does, but with no stream behind it, so a test decides when the head moves.
 */
async function followerServer(aheadWaitMs: number | undefined) {
  const log = await SignedLog.create();
  let replica: Replica | undefined;
  let fanOut: FanOut | undefined;
  const config = loadConfig({
    flags: { data_dir: tempDir(), port: 0, host: '127.0.0.1', log_level: 'silent' },
  });
  const server = await startServer(config, createLogger('silent'), {
    driver: (ctx): SignalLogDriver & { aheadWaitMs?: number } => {
      replica = Replica.open(ctx.db, log.epoch);
      return {
        kind: 'test-follower',
        reader: replica.store,
        sequencer: undefined,
        ...(aheadWaitMs !== undefined ? { aheadWaitMs } : {}),
        attach: (f) => void (fanOut = f),
        notReady: () => undefined,
        close: async () => undefined,
      };
    },
  });
  const key = createApiKey(server.keys, 'reader', ['read']).key;
  server.auth.refresh();
  const apply = (n: number) => fanOut!.publish(replica!.applySequenced(log.next(n)));
  return { server, key, log, apply, close: () => server.close() };
}

const seqs = (frames: Frame[]) =>
  frames.filter((f) => f.type === 'signal').map((f) => (f['signal'] as { seq: number }).seq);

describe('a subscribe ahead of a follower log waits for it instead of `future`', () => {
  it('answers once the head reaches from_seq, then replays and streams each seq once', async () => {
    const t = await followerServer(5000);
    try {
      t.apply(10);
      const ws = connect(t.server.wsUrl, t.key);
      await ws.opened;
      await ws.until(() => ws.frames.some((f) => f.type === 'hello'), 5000, 'hello');
      ws.send({ type: 'subscribe', from_seq: 15, epoch: t.log.epoch });
      // Not yet: the head is 10. Two more steps; the second reaches 15.
      t.apply(3);
      const pong = { type: 'ping', id: 'p1' };
      ws.send(pong);
      await ws.until(() => ws.frames.some((f) => f.type === 'pong'), 5000, 'pong');
      expect(ws.frames.some((f) => f.type === 'subscribed')).toBe(false);
      t.apply(7); // head 20
      await ws.until(() => ws.frames.some((f) => f.type === 'caught_up'), 5000, 'caught_up');
      const sub = ws.frames.find((f) => f.type === 'subscribed')!;
      expect(sub).toMatchObject({ recovered: true, from_seq: 15, head_seq: 20 });
      t.apply(5); // live 21..25
      await ws.until(() => seqs(ws.frames).at(-1) === 25, 5000, 'live 25');
      expect(seqs(ws.frames)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    } finally {
      await t.close();
    }
  });

  it('a head that does not get there in time: an error frame and 1001, never `future`', async () => {
    const t = await followerServer(300);
    try {
      t.apply(3);
      const ws = connect(t.server.wsUrl, t.key);
      await ws.opened;
      ws.send({ type: 'subscribe', from_seq: 99 });
      expect(await ws.closed(5000)).toBe(CloseCode.goingAway.code);
      expect(ws.frames.some((f) => f.type === 'subscribed')).toBe(false);
      expect(ws.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'unavailable' });
    } finally {
      await t.close();
    }
  });

  it('a log that does not trail anything (single-node) still answers `future` at once', async () => {
    const t = await followerServer(undefined);
    try {
      t.apply(3);
      const ws = connect(t.server.wsUrl, t.key);
      await ws.opened;
      ws.send({ type: 'subscribe', from_seq: 99 });
      await ws.until(() => ws.frames.find((f) => f.type === 'subscribed'), 5000, 'subscribed');
      expect(ws.frames.find((f) => f.type === 'subscribed')).toMatchObject({
        recovered: false,
        reason: 'future',
      });
    } finally {
      await t.close();
    }
  });
});
