import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * deploy/nats/nats-node.conf, for real: certificates from deploy/nats/make-certs.sh, the template rendered for
 * three nodes (only ports, file paths and addresses changed: every node on 127.0.0.1, ports from the OS), run
 * as a 3-node JetStream cluster with the machine's nats-server. Then what docs/security.md claims: a client
 * without a certificate is refused; the ingest user can set up and write the log; a gateway user can read it
 * (stream info, direct get, a consumer, KV get) and is refused every write but a witness cosignature. Under CI a missing
 * nats-server fails; locally the test is skipped with the reason in its name.
 */
const DEPLOY = fileURLToPath(new URL('../../deploy/nats/', import.meta.url));
const NATS = process.env['NATS_SERVER'] ?? '/usr/sbin/nats-server';
const HAVE = existsSync(NATS);
const CI = process.env['CI'] === 'true';
const STREAM = 'CATALYST_SIGNALS';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Skipped only on a machine without nats-server outside CI (CI installs it and runs these).
const describeNats = HAVE || CI ? describe : describe.skip;
describeNats(
  `deploy/nats/nats-node.conf on a real 3-node cluster${HAVE ? '' : ' (skipped: no nats-server)'}`,
  () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nats-deploy-'));
    const tls = path.join(dir, 'tls');
    const procs: ChildProcess[] = [];
    const nodes: { client: number; route: number; http: number }[] = [];
    const conns: NatsConnection[] = [];

    const connectAs = async (user?: string, timeout = 5000) => {
      // The node certificate names the node (and its IP); an IP URL is checked against "localhost" by this
      // client, so the name is given: node's tls.connect option, passed through by the client though its
      // type does not list it (in production the URL uses the name: docs/operations.md).
      const tlsOptions = {
        servername: 'n1',
        caFile: path.join(tls, 'ca.pem'),
        ...(user ? { certFile: path.join(tls, `${user}.pem`), keyFile: path.join(tls, `${user}.key`) } : {}),
      };
      const nc = await connect({
        servers: [`tls://127.0.0.1:${nodes[0]!.client}`],
        tls: tlsOptions,
        timeout,
        maxReconnectAttempts: 0,
      });
      conns.push(nc);
      return nc;
    };

    beforeAll(async () => {
      expect(HAVE, `${NATS} missing (apt-get install nats-server)`).toBe(true);
      const made = spawnSync(
        'bash',
        [
          path.join(DEPLOY, 'make-certs.sh'),
          tls,
          'n1=127.0.0.1',
          'n2=127.0.0.1',
          'n3=127.0.0.1',
          '--clients',
          'ingest-1',
          'gateway-1',
          'intruder',
        ],
        { encoding: 'utf8' },
      );
      expect(made.status, made.stderr).toBe(0);
      for (let i = 0; i < 3; i++)
        nodes.push({ client: await freePort(), route: await freePort(), http: await freePort() });
      const template = readFileSync(path.join(DEPLOY, 'nats-node.conf'), 'utf8');
      nodes.forEach((n, i) => {
        const [a, b] = nodes.filter((_, j) => j !== i);
        const store = path.join(dir, `store${i + 1}`);
        mkdirSync(store);
        const conf = template
          .replaceAll('@NODE_NAME@', `n${i + 1}`)
          .replaceAll('@CLUSTER_NAME@', 'catalyst')
          .replace('listen: @NODE_IP@:4222', `listen: 127.0.0.1:${n.client}`)
          .replace('listen: @NODE_IP@:6222', `listen: 127.0.0.1:${n.route}`)
          .replace('@PEER_A_IP@:6222', `127.0.0.1:${a!.route}`)
          .replace('@PEER_B_IP@:6222', `127.0.0.1:${b!.route}`)
          .replace('http: 127.0.0.1:8222', `http: 127.0.0.1:${n.http}`)
          .replaceAll('/etc/nats/tls/node.', `${tls}/n${i + 1}.`)
          .replaceAll('/etc/nats/tls/ca.pem', `${tls}/ca.pem`)
          .replace('"/var/lib/nats"', JSON.stringify(store));
        // Every placeholder and default port in the settings was replaced (comments keep theirs).
        const settings = conf.replace(/#.*$/gm, '');
        expect(settings).not.toMatch(/@[A-Z_]+@|:4222|:6222|:8222/);
        const file = path.join(dir, `n${i + 1}.conf`);
        writeFileSync(file, conf);
        procs.push(spawn(NATS, ['-c', file], { stdio: 'ignore' }));
      });
      await Promise.all(
        nodes.map((n) =>
          until(`meta leader on :${n.http}`, async () => {
            const jsz = (await (await fetch(`http://127.0.0.1:${n.http}/jsz`)).json()) as {
              meta_cluster?: { leader?: string };
            };
            return jsz.meta_cluster?.leader;
          }),
        ),
      );
    });

    afterAll(async () => {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await Promise.all(
        procs.map((p) =>
          p.exitCode === null ? new Promise((r) => (p.once('exit', r), p.kill('SIGKILL'))) : undefined,
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a client without a certificate, and one whose certificate names no user', async () => {
      // The node ends the TLS handshake of a client without a certificate ("client didn't provide a
      // certificate" in its log); this client reports that as a connect timeout. The same node accepts
      // ingest-1 and gateway-1 in the next test.
      await expect(connectAs(undefined, 2000)).rejects.toThrow(/timeout/i);
      await expect(connectAs('intruder')).rejects.toThrow(/Authorization Violation/);
    });

    it('lets the ingest user write the log and the gateway user only read it', async () => {
      const ingest = await connectAs('ingest-1');
      const jsm = await jetstreamManager(ingest, { timeout: 5000 });
      const js = jetstream(ingest, { timeout: 5000 });
      await until('the R3 stream', () =>
        jsm.streams.add({
          name: STREAM,
          subjects: ['catalyst.signals.*'],
          num_replicas: 3,
          allow_direct: true,
        }),
      );
      const keys = await until('the keys bucket', () => new Kvm(js).create('catalyst_keys', { replicas: 3 }));
      await keys.put('k1', 'hash-of-k1');
      const cosignatures = await new Kvm(js).create('catalyst_cosignatures', { replicas: 3 });
      expect((await js.publish('catalyst.signals.a', 'signed-1', { expect: { lastSequence: 0 } })).seq).toBe(
        1,
      );

      const gw = await connectAs('gateway-1');
      const gjsm = await jetstreamManager(gw, { timeout: 5000, checkAPI: false });
      const gjs = jetstream(gw, { timeout: 5000 });
      expect((await gjsm.streams.info(STREAM)).state.last_seq).toBe(1);
      expect((await until('direct get', () => gjsm.direct.getMessage(STREAM, { seq: 1 })))?.string()).toBe(
        'signed-1',
      );
      const consumer = await gjs.consumers.get(STREAM, { opt_start_seq: 1 });
      expect((await consumer.next({ expires: 5000 }))?.string()).toBe('signed-1');
      const gkeys = await new Kvm(gjs).open('catalyst_keys');
      expect((await gkeys.get('k1'))?.string()).toBe('hash-of-k1');

      // The gateway's one write: a witness cosignature it verified (every node re-verifies before serving).
      const gcos = await new Kvm(gjs).open('catalyst_cosignatures');
      expect(await gcos.create('5.w', 'a cosignature line')).toBeGreaterThan(0);
      expect((await cosignatures.get('5.w'))?.string()).toBe('a cosignature line');

      const refused = /Permissions Violation/;
      await expect(gjs.publish('catalyst.signals.b', 'forged', { timeout: 3000 })).rejects.toThrow(refused);
      await expect(gkeys.put('minted', 'hash', { timeout: 3000 })).rejects.toThrow(refused);
      await expect(gjsm.streams.update(STREAM, { max_age: 1 })).rejects.toThrow(refused);
      await expect(gjsm.streams.delete(STREAM)).rejects.toThrow(refused);
      await expect(gjsm.streams.add({ name: 'OTHER', subjects: ['other.>'] })).rejects.toThrow(refused);
      // Nothing the gateway tried reached the log.
      const state = (await jsm.streams.info(STREAM)).state;
      expect(state.last_seq).toBe(1);
      expect(await keys.get('minted')).toBeNull();
    });
  },
);
