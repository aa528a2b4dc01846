/**
 * One lease contender as its own process, for the test that kills the holder: `node --import tsx lease-child.ts`.
 * Env: LEASE_NATS_URLS (comma-separated), LEASE_BUCKET, LEASE_KEY, LEASE_NODE, LEASE_TERM_MS, LEASE_SKEW_MS.
 * Prints one JSON line per lease event on stdout ({"event":"acquired"} / {"event":"lost","why":...}).
 */
import { connectNats } from '../../src/jetstream/connection.js';
import { KvLease } from '../../src/jetstream/lease.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`lease-child: ${k} is not set`);
  return v;
};
const nats = await connectNats({ urls: env('LEASE_NATS_URLS').split(','), name: 'catalyst-lease-test' });
const kv = await nats.kvm.open(env('LEASE_BUCKET'));
const lease = new KvLease({
  kv,
  key: env('LEASE_KEY'),
  node: env('LEASE_NODE'),
  termMs: Number(env('LEASE_TERM_MS')),
  skewMs: Number(env('LEASE_SKEW_MS')),
});
lease.on('acquired', () => process.stdout.write(JSON.stringify({ event: 'acquired' }) + '\n'));
lease.on('lost', (why) => process.stdout.write(JSON.stringify({ event: 'lost', why }) + '\n'));
lease.start();
process.stdout.write(JSON.stringify({ event: 'started' }) + '\n');
