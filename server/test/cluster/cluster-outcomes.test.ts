import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { PATHS, TrackRecordSchema } from '@catalyst-signal/shared';
import { builtinCalendar } from '@catalyst-signal/shared/calendar';
import { HORIZONS } from '@catalyst-signal/shared/outcomes';
import type { Server } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ClusterKeys } from '../../src/jetstream/keys-kv.js';
import { OutcomesBucket, OutcomesFencedError } from '../../src/jetstream/outcomes-kv.js';
import { createLogger } from '../../src/logger.js';
import { startBoth } from '../../src/roles/both.js';
import { startGatewayNode } from '../../src/roles/gateway.js';
import { ClusterOutcomes } from '../../src/roles/outcome-holder.js';
import { SIGNING_KEY_FILE } from '../../src/signing.js';
import { OutcomeDb, type PublishedOutcome } from '../../src/store/outcome-db.js';
import { insertClusterKey } from '../helpers/cluster-keys.js';
import { describeWithNats, pollUntil } from '../helpers/nats-cluster.js';
import { classification, tempDir } from '../helpers/server.js';
import { pastMonday } from '../helpers/track-record.js';
import {
  DEFAULT_ASSETS,
  nyToMs,
  startAlpacaEmulator,
  type AlpacaEmulator,
} from '../../../client/test/helpers/alpaca-emulator.js';
import { nyParts } from '../../../client/test/helpers/alpaca/clock.js';
import { useCluster } from './cluster-fixture.js';

const TERM = { lease_term_ms: 1500, lease_skew_ms: 200 };

/** The trading day two trading days before today (New York): its 1d horizon has passed, its 5d has not. */
function twoTradingDaysAgo(): string {
  const today = nyParts(Date.now()).date;
  const days = builtinCalendar(Date.now() - 14 * 86_400_000, 14)
    .map((d) => d.date)
    .filter((d) => d < today);
  return days[days.length - 2]!;
}

/** Data-API bar requests that asked for this symbol. */
const barRequests = (emu: AlpacaEmulator, symbol: string) =>
  emu.requests.filter(
    (r) =>
      r.path.startsWith('/v2/stocks/') &&
      r.path.endsWith('/bars') &&
      (r.path.includes(`/${symbol}/`) || (r.query['symbols'] ?? '').split(',').includes(symbol)),
  ).length;

/** A minimal record as the holder publishes it. */
const record = (seq: number): PublishedOutcome => ({
  seq,
  symbol: 'AAPL',
  signal: '{}',
  facets: {
    seq,
    at: 0,
    symbol: 'AAPL',
    action: 'enter',
    catalyst: 'fda',
    session: 'regular',
    confidence: 0.8,
    keywords: [],
  },
  outcomes: [],
  next_due: null,
  computed_at: 0,
});

const emus: AlpacaEmulator[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const e of emus.splice(0)) await e.close();
});

describeWithNats(
  'cluster outcomes: one lease holder computes, every node serves',
  { timeout: 90_000 },
  () => {
    const c = useCluster({ size: 1, connect: 'cluster-outcomes-test' });

    it('two both nodes and a gateway: computed once, served alike; the holder stops, the other resumes without recomputing', async () => {
      const now = nyParts(Date.now());
      const assets = [
        ...DEFAULT_ASSETS,
        { ...DEFAULT_ASSETS[0]!, symbol: 'MSFT', price: 400 },
        { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', name: 'iShares Russell 2000', price: 240 },
      ];
      // One emulator per `both` node (same seeded bars): the requests each one sees say which node computed.
      const [emuA, emuB] = [
        await startAlpacaEmulator({ now: `${now.date}T${now.time}`, assets }),
        await startAlpacaEmulator({ now: `${now.date}T${now.time}`, assets }),
      ];
      emus.push(emuA, emuB);
      vi.stubEnv('TEST_APCA_SECRET', emuA.secret);
      const keys = await ClusterKeys.open(c.h, 1);
      const [pub, read] = await Promise.all([
        insertClusterKey(keys, ['publish']),
        insertClusterKey(keys, ['read']),
      ]);
      const config = (dir: string, emu?: AlpacaEmulator) =>
        loadConfig({
          flags: {
            data_dir: dir,
            port: 0,
            host: '127.0.0.1',
            log_level: 'silent',
            cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000, ...TERM },
            ...(emu
              ? {
                  outcomes: {
                    alpaca_key_id: emu.keyId,
                    alpaca_secret_env: 'TEST_APCA_SECRET',
                    data_url: emu.url,
                    interval_s: 1,
                  },
                }
              : {}),
          },
        });
      const log = createLogger('silent');
      const [dirA, dirB, dirG] = [tempDir('out-a-'), tempDir('out-b-'), tempDir('out-g-')];
      const servers: Server[] = [];
      try {
        const a = await startBoth(config(dirA, emuA), log);
        servers.push(a);
        copyFileSync(path.join(dirA, SIGNING_KEY_FILE), path.join(dirB, SIGNING_KEY_FILE));
        // The gateway starts before any outcome is published: it mirrors from the first record.
        const g = await startGatewayNode(config(dirG), log);
        servers.push(g);
        await pollUntil('A computes', async () => (a.outcomes?.computing ? true : undefined), 10_000);
        const b = await startBoth(config(dirB, emuB), log);
        servers.push(b);
        for (const s of servers)
          await pollUntil('keys mirrored', async () => (s.keys.get(read.id) ? true : undefined), 10_000);

        const post = async (to: Server, over: Parameters<typeof classification>[1]) => {
          const r = await fetch(`${to.url}/v1/signals`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${pub.key}` },
            body: JSON.stringify(classification(undefined, { asset_class: 'us_equity', ...over })),
          });
          expect(r.status).toBe(201);
          return ((await r.json()) as { seq: number }).seq;
        };
        const day = pastMonday();
        const at = (d: string, hm: string) => new Date(nyToMs(`${d}T${hm}`)).toISOString();
        const done = await post(a, {
          symbol: 'AAPL',
          action: 'enter',
          direction: 'long',
          price: 200,
          classified_at: at(day, '10:00'),
        });
        const avoid = await post(b, {
          symbol: 'AAPL',
          action: 'avoid',
          direction: 'long',
          price: 200,
          classified_at: at(day, '11:00'),
        });
        // Its 5d horizon is days away: a job that stays open, published with its next due time.
        const open = await post(a, {
          symbol: 'PNNY',
          action: 'enter',
          direction: 'long',
          price: 0.5,
          classified_at: at(twoTradingDaysAgo(), '10:00'),
        });

        const dbs = [dirA, dirB, dirG].map((d) => new OutcomeDb(d));
        try {
          const horizons = (db: OutcomeDb, seq: number) => db.outcomes(seq).length;
          for (const db of dbs)
            await pollUntil(
              'outcomes on every node',
              async () =>
                horizons(db, done) === HORIZONS.length &&
                horizons(db, avoid) === HORIZONS.length &&
                horizons(db, open) === HORIZONS.length - 1
                  ? true
                  : undefined,
              20_000,
            );
          // Computed once: only the holder asked for bars.
          expect(barRequests(emuA, 'AAPL')).toBeGreaterThan(0);
          expect(barRequests(emuA, 'PNNY')).toBeGreaterThan(0);
          expect(emuB.requests.length).toBe(0);
          expect(b.outcomes?.computing).toBe(false);
          const healthz = async (s: Server) =>
            ((await (await fetch(`${s.url}/healthz`)).json()) as { outcomes_computer?: boolean })
              .outcomes_computer;
          expect([await healthz(a), await healthz(b), await healthz(g)]).toEqual([true, false, false]);

          // Every node serves the same track record.
          const trackRecord = async (s: Server, query = '') => {
            const r = await fetch(`${s.url}${PATHS.trackRecord}${query}`, {
              headers: { authorization: `Bearer ${read.key}` },
            });
            expect(r.status).toBe(200);
            const body = TrackRecordSchema.parse(await r.json());
            return { ...body, generated_at: undefined };
          };
          const fromA = await trackRecord(a);
          expect(fromA.signals).toBe(3);
          expect(await trackRecord(g)).toEqual(fromA);
          expect(await trackRecord(b)).toEqual(fromA);

          // The open job's state reached B with the figures: a successor resumes from it.
          const dueA = dbs[0]!.dueJobs(Number.MAX_SAFE_INTEGER, 10);
          expect(dueA.map((j) => j.seq)).toEqual([open]);
          expect(dbs[1]!.dueJobs(Number.MAX_SAFE_INTEGER, 10)).toEqual(dueA);

          const aaplBefore = barRequests(emuA, 'AAPL');
          await a.close();
          await pollUntil('B takes over', async () => (b.outcomes?.computing ? true : undefined), 10_000);
          const late = await post(b, {
            symbol: 'MSFT',
            action: 'enter',
            direction: 'long',
            price: 400,
            classified_at: at(day, '10:05'),
          });
          for (const db of dbs.slice(1))
            await pollUntil(
              'the new signal on B and G',
              async () => (horizons(db, late) === HORIZONS.length ? true : undefined),
              20_000,
            );
          // Nothing twice: B asked for MSFT only, never for what A had published (AAPL done, PNNY's open job).
          expect(barRequests(emuB, 'MSFT')).toBeGreaterThan(0);
          expect(barRequests(emuB, 'AAPL')).toBe(0);
          expect(barRequests(emuB, 'PNNY')).toBe(0);
          expect(barRequests(emuA, 'AAPL')).toBe(aaplBefore);
          expect(dbs[1]!.dueJobs(Number.MAX_SAFE_INTEGER, 10)).toEqual(dueA);
          // A query not asked before (a track record is cached up to a minute per query).
          const msft = await trackRecord(b, '?symbol=MSFT');
          expect(msft.signals).toBe(1);
          expect(await trackRecord(g, '?symbol=MSFT')).toEqual(msft);
        } finally {
          for (const db of dbs) db.close();
        }
      } finally {
        for (const s of servers.reverse()) await s.close();
      }
    });

    it('a stalled watch is started again: the store catches up with the bucket', async () => {
      const bucket = await OutcomesBucket.ensure(c.h, 1);
      const db = new OutcomeDb(tempDir('out-wd-'));
      const mirror = await ClusterOutcomes.start({
        cluster: {
          nats: c.h,
          meta: await c.h.kvm.open('catalyst_meta'),
          mayCompute: false,
          replicas: 1,
          node: 'wd',
          termMs: 1500,
          skewMs: 200,
        },
        db,
        log: createLogger('silent'),
        watchdogMs: 100,
      });
      try {
        const publisher = bucket.publisher(await bucket.lastSeq());
        await publisher.publish(record(910_001));
        await pollUntil('applied', async () => (db.facet(910_001) ? true : undefined), 5000);
        // The watch goes quiet without a word, as when the NATS server behind it dies.
        (mirror as unknown as { watch: { stop(): void } }).watch.stop();
        await publisher.publish(record(910_002));
        await pollUntil('applied after the stall', async () => (db.facet(910_002) ? true : undefined), 5000);
      } finally {
        await mirror.close();
        db.close();
      }
    });

    it('a deposed holder cannot publish once another did (fenced on the bucket stream seq)', async () => {
      const bucket = await OutcomesBucket.ensure(c.h, 1);
      const from = await bucket.lastSeq();
      const deposed = bucket.publisher(from);
      const successor = bucket.publisher(from);
      const wrote = await successor.publish(record(900_001));
      expect(wrote).toBe(from + 1);
      await expect(deposed.publish(record(900_002))).rejects.toBeInstanceOf(OutcomesFencedError);
      // The successor goes on from its own write.
      expect(await successor.publish(record(900_003))).toBe(from + 2);
    });
  },
);

// Its own NATS server: a fresh cluster log, so this node's new signing key is the cluster's.
describeWithNats('cluster outcomes: losing the lease', { timeout: 60_000 }, () => {
  const c = useCluster({ size: 1, connect: 'cluster-outcomes-lease-test' });

  it('the holder stops computing the moment its lease is lost, and resumes from what it published when it gets it back', async () => {
    const now = nyParts(Date.now());
    const emu = await startAlpacaEmulator({
      now: `${now.date}T${now.time}`,
      assets: [...DEFAULT_ASSETS, { ...DEFAULT_ASSETS[0]!, symbol: 'IWM', price: 240 }],
    });
    emus.push(emu);
    vi.stubEnv('TEST_APCA_SECRET', emu.secret);
    const keys = await ClusterKeys.open(c.h, 1);
    const pub = await insertClusterKey(keys, ['publish']);
    const dir = tempDir('out-lost-');
    const a = await startBoth(
      loadConfig({
        flags: {
          data_dir: dir,
          port: 0,
          host: '127.0.0.1',
          log_level: 'silent',
          cluster: { nats_urls: c.urls, replicas: 1, request_timeout_ms: 2000, ...TERM },
          outcomes: {
            alpaca_key_id: emu.keyId,
            alpaca_secret_env: 'TEST_APCA_SECRET',
            data_url: emu.url,
            interval_s: 1,
          },
        },
      }),
      createLogger('silent'),
    );
    const db = new OutcomeDb(dir);
    try {
      await pollUntil('A computes', async () => (a.outcomes?.computing ? true : undefined), 10_000);
      await pollUntil('keys mirrored', async () => (a.keys.get(pub.id) ? true : undefined), 10_000);
      const post = async (symbol: string) => {
        const r = await fetch(`${a.url}/v1/signals`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${pub.key}` },
          body: JSON.stringify(
            classification(undefined, {
              asset_class: 'us_equity',
              symbol,
              action: 'enter',
              direction: 'long',
              price: 200,
              classified_at: new Date(nyToMs(`${pastMonday()}T10:00`)).toISOString(),
            }),
          ),
        });
        expect(r.status).toBe(201);
        return ((await r.json()) as { seq: number }).seq;
      };
      const first = await post('AAPL');
      await pollUntil(
        'first computed',
        async () => (db.outcomes(first).length === HORIZONS.length ? true : undefined),
        20_000,
      );
      const requests = barRequests(emu, 'AAPL');

      // Another contender writes over the lease (as a successor would after a pause), with a short term: A's
      // next renewal fails, it stops, and takes the lease back once that term (plus the skew) has passed.
      const meta = await c.h.kvm.open('catalyst_meta');
      await meta.put('outcomes_lease', JSON.stringify({ node: 'intruder', until_ms: Date.now() + 2500 }));
      await pollUntil('A stops', async () => (a.outcomes?.computing ? undefined : true), 2500);
      // A applies up to the bucket's end and computes only what is new.
      await pollUntil('A computes again', async () => (a.outcomes?.computing ? true : undefined), 10_000);
      const second = await post('PNNY');
      await pollUntil(
        'second computed',
        async () => (db.outcomes(second).length === HORIZONS.length ? true : undefined),
        20_000,
      );
      expect(barRequests(emu, 'AAPL')).toBe(requests);
    } finally {
      db.close();
      await a.close();
    }
  });
});
