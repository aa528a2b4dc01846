import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULTS } from '@catalyst-signal/shared';
import { ConfigError } from './errors.js';

const positiveInt = () => z.coerce.number().int().positive();
const nonNegInt = () => z.coerce.number().int().min(0);
const bool = () =>
  z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/**
 * Cluster mode (opt-in): the signal log lives in NATS JetStream instead of this node's SQLite file. Absent:
 * single-node mode. See docs/operations.md for a 3-node nats-server cluster.
 */
export const ClusterSchema = z
  .strictObject({
    nats_urls: z
      .array(z.string().regex(/^(nats|tls):\/\/[^\s]+$/, 'a nats:// or tls:// URL'))
      .min(1)
      .describe('NATS servers to connect to (any subset of the cluster; the client learns the rest).'),
    replicas: z
      .union([z.literal(1), z.literal(3)])
      .default(3)
      .describe(
        'Copies of every signal in JetStream. 3: survives the loss of one NATS node. 1: a node loss blocks ingest until it returns.',
      ),
    duplicate_window_ms: positiveInt()
      .min(1000)
      .max(7 * 24 * 3600 * 1000)
      .default(120_000)
      .describe(
        'JetStream msgID dedupe window. Beyond it a repeated source_id still gets its original seq (looked up on its subject).',
      ),
    max_age_days: nonNegInt()
      .default(0)
      .describe('Drop signals older than this from the cluster log; 0 = keep forever.'),
    stream: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .describe('Stream name override, only when two Catalyst networks share one NATS account.'),
    request_timeout_ms: positiveInt()
      .max(60_000)
      .default(2000)
      .describe(
        'How long a publish or API request waits for the cluster; a signal not acked by then gets 503.',
      ),
    tls: z
      .strictObject({
        ca_file: z
          .string()
          .min(1)
          .optional()
          .describe("PEM CA bundle that signed the NATS servers' certificates."),
        cert_file: z.string().min(1).optional().describe('PEM client certificate (mutual TLS).'),
        key_file: z.string().min(1).optional().describe('PEM client key (mutual TLS).'),
      })
      .superRefine((t, ctx) => {
        if (!!t.cert_file !== !!t.key_file)
          ctx.addIssue({ code: 'custom', message: 'cert_file and key_file go together' });
      })
      .optional()
      .describe('TLS towards NATS (use tls:// URLs).'),
    credentials_file: z
      .string()
      .min(1)
      .optional()
      .describe('NATS .creds file (user JWT + nkey seed) for decentralised auth; never logged.'),
    lease_term_ms: positiveInt()
      .min(300)
      .max(600_000)
      .default(3000)
      .describe(
        "How long one write of a cluster lease (the checkpoint signer) holds it. A dead holder is replaced after this plus lease_skew_ms; checkpoints pause that long, so keep the sum below the clients' log.max_proof_wait_ms (5 s).",
      ),
    lease_skew_ms: nonNegInt()
      .max(60_000)
      .default(500)
      .describe(
        "Largest clock difference between cluster nodes tolerated: a successor waits this long past the holder's term. Keep clocks synchronised (NTP) well within it.",
      ),
    ingest_url: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "Where publishers POST signals (an ingest node, or its proxy): a gateway's 405 for POST /v1/signals names it.",
      ),
  })
  .describe('Cluster mode on NATS JetStream. Absent: single-node SQLite mode.');
export type ClusterConfig = z.output<typeof ClusterSchema>;

/**
 * The server's whole configuration: one schema holding every default and its meaning. Sources, lowest
 * precedence first: defaults, config file (JSON), CATALYST_* environment variables (ENV_TABLE), CLI flags.
 */
export const ConfigSchema = z
  .strictObject({
    data_dir: z
      .string()
      .min(1)
      .default('./catalyst-data')
      .describe('Directory holding the database, signing key and config.'),
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to listen on; 0.0.0.0 for all interfaces (put TLS in front).'),
    port: nonNegInt()
      .max(65535)
      .default(8787)
      .describe('TCP port for REST and WebSocket; 0 picks a free port.'),
    server_id: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Name of this node in `hello`; defaults to the hostname.'),
    log_level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level.'),
    sync: z
      .enum(['normal', 'full'])
      .default('normal')
      .describe(
        'SQLite synchronous mode. normal: a kill -9 loses nothing acknowledged; a power loss may lose the last commits. full: a power loss loses nothing acknowledged, at a lower commit rate.',
      ),
    busy_timeout_ms: nonNegInt()
      .max(60_000)
      .default(2000)
      .describe(
        'How long a write waits for a database lock held by another process before the request gets 503.',
      ),
    group_commit_max: positiveInt()
      .max(10_000)
      .default(2000)
      .describe('Most signals committed in one transaction.'),
    max_batch: positiveInt()
      .max(10_000)
      .default(DEFAULTS.maxBatch)
      .describe('Most classifications in one POST.'),
    max_body_bytes: positiveInt()
      .default(DEFAULTS.maxSingleBodyBytes)
      .describe('Largest single-classification body.'),
    max_batch_body_bytes: positiveInt().default(DEFAULTS.maxBatchBodyBytes).describe('Largest batch body.'),
    rest_read_per_min: positiveInt()
      .default(100)
      .describe('REST requests per minute for a key with only read scope.'),
    rest_publish_per_min: positiveInt()
      .default(60_000)
      .describe('REST requests per minute for a key with publish scope.'),
    auth_failures_per_min: positiveInt()
      .default(30)
      .describe('Failed authentications per minute per IP before 429.'),
    ws_connections_per_ip: positiveInt()
      .default(300)
      .describe('New WebSocket connections per IP per ws_connections_window_s.'),
    ws_connections_window_s: positiveInt().default(300).describe('Window of ws_connections_per_ip, seconds.'),
    ws_max_per_key: positiveInt()
      .default(5)
      .describe('Concurrent WebSocket connections per API key or JWT subject.'),
    ws_frames_per_s: positiveInt()
      .default(10)
      .describe('Inbound frames per second per connection (error frame, then close if sustained).'),
    ws_max_frame_bytes: positiveInt()
      .max(1024 * 1024)
      .default(DEFAULTS.maxInboundFrameBytes)
      .describe('Largest inbound frame; bigger closes with 1009.'),
    ws_max_backpressure_bytes: positiveInt()
      .default(1024 * 1024)
      .describe('Per-socket send buffer; a client over it is closed as a slow consumer.'),
    ws_idle_timeout_s: nonNegInt()
      .default(60)
      .describe('uWS idle timeout; pings are sent automatically before it.'),
    ws_max_lifetime_min: nonNegInt()
      .default(24 * 60)
      .describe('Close connections after this many minutes so clients exercise resume; 0 = never.'),
    auth_deadline_ms: positiveInt()
      .default(DEFAULTS.authDeadlineMs)
      .describe('Time an unauthenticated socket has to send `auth`.'),
    heartbeat_ms: positiveInt().default(DEFAULTS.heartbeatMs).describe('Interval of heartbeat frames.'),
    max_replay: positiveInt()
      .default(100_000)
      .describe('Most signals replayed over a socket; further behind gets recovered:false (use REST).'),
    replay_page: positiveInt().max(10_000).default(500).describe('Signals read from SQLite per replay step.'),
    limits_disabled: bool()
      .default(false)
      .describe('Turn off connection and request rate limits (benchmarks only).'),
    metrics: z.enum(['public', 'admin', 'off']).default('public').describe('Who may read /metrics.'),
    jwt: z
      .strictObject({
        issuer: z.string().min(1).describe('Required `iss`.'),
        audience: z.string().min(1).describe('Required `aud`.'),
        secret: z.string().min(32).optional().describe('HS256 shared secret (at least 32 characters).'),
        public_key_file: z.string().optional().describe('PEM SPKI public key for RS256/ES256/EdDSA tokens.'),
        algorithms: z
          .array(z.enum(['HS256', 'RS256', 'ES256', 'EdDSA']))
          .min(1)
          .default(['HS256']),
        clock_tolerance_s: nonNegInt().default(5),
        max_lifetime_s: z
          .int()
          .min(1)
          .default(86_400)
          .describe(
            'Longest accepted token lifetime (exp - iat, and exp - now): a leaked token is good for at most this long.',
          ),
        key_id: z
          .string()
          .min(1)
          .max(256)
          .optional()
          .describe(
            'The `kid` of the configured key: a token must name it. Absent: a token naming any kid is refused. ' +
              'Rotating the key (and this id) revokes every token signed with the old one.',
          ),
      })
      // Checked on the jwt block itself, so it is reported together with errors elsewhere in the config.
      .superRefine((j, ctx) => {
        if (!j.secret && !j.public_key_file)
          ctx.addIssue({ code: 'custom', message: 'needs secret or public_key_file' });
        if (j.secret && j.algorithms.some((a) => a !== 'HS256')) {
          ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'a secret only goes with HS256' });
        }
      })
      .optional()
      .describe('Accept JWTs as well as API keys. Absent: API keys only.'),
    outcomes: z
      .strictObject({
        alpaca_key_id: z.string().min(1).describe('Alpaca API key id, used for the market-data API only.'),
        alpaca_secret_env: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/)
          .default('APCA_API_SECRET_KEY')
          .describe(
            'Name of the environment variable holding its secret key (never the secret itself in the config file).',
          ),
        data_url: z
          .url()
          .default('https://data.alpaca.markets')
          .describe("Alpaca's market-data API base URL."),
        interval_s: positiveInt().max(3600).default(60).describe('How often due outcomes are computed.'),
        benchmark: z
          .string()
          .regex(/^[A-Z][A-Z0-9.]{0,15}$/)
          .default('IWM')
          .describe('Symbol whose same-window return gives the abnormal return (IWM: US small caps).'),
      })
      .optional()
      .describe(
        "Compute each us_equity signal's outcomes from Alpaca 1-minute bars into outcomes.db (docs/outcomes.md). Absent: off. In cluster mode only `both` nodes use it (one lease holder computes; every gateway serves what it published).",
      ),
    cluster: ClusterSchema.optional(),
    log: z
      .strictObject({
        origin: z
          .string()
          .regex(/^[^\s+]{1,200}$/, 'no spaces or +, at most 200 characters')
          .optional()
          .describe('The log name in every checkpoint and its key name; default catalyst-signals/<epoch>.'),
        checkpoint_interval_ms: positiveInt()
          .max(60_000)
          .default(500)
          .describe('Most one checkpoint per this many ms (signed after the log grew).'),
        signal_signatures: z
          .boolean()
          .default(true)
          .describe(
            'Sign each signal (sig). false once every client verifies the log: checkpoints prove signals, hello says protocol 3, and protocol-2 clients stop with a clear error (docs/protocol.md, migration). Same on every node.',
          ),
        witnesses: z
          .array(
            z.strictObject({
              name: z.string().min(1).max(100).describe('Who runs it (logs and metrics only).'),
              vkey: z
                .string()
                .min(1)
                .max(400)
                .describe(
                  "The witness verifier key (`<name>+<hex id>+<base64>`, type 0x04), as the witness's `catalyst-client log witness-key` prints it.",
                ),
            }),
          )
          .max(64)
          .default([])
          .describe(
            'Witnesses whose cosignatures (the `cosign` frame) are kept and served on the checkpoint (GET /v1/log/checkpoint, checkpoint frames); any other cosignature is counted and dropped. In a cluster, set the same list on every node: a node keeps what it verified in the cluster bucket `catalyst_cosignatures` and serves every line in it.',
          ),
      })
      .prefault({})
      .describe(
        'The transparency log (docs/transparency-log.md): signed checkpoints (origin, checkpoint_interval_ms) over every stored signal.',
      ),
  })
  .superRefine((c, ctx) => {
    if (c.max_batch_body_bytes < c.max_body_bytes) {
      ctx.addIssue({ code: 'custom', path: ['max_batch_body_bytes'], message: 'must be >= max_body_bytes' });
    }
  });
export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Environment variables the server reads, and the config key each sets. Nothing else is read. */
export const ENV_TABLE: Record<string, keyof Config> = {
  CATALYST_DATA_DIR: 'data_dir',
  CATALYST_HOST: 'host',
  CATALYST_PORT: 'port',
  CATALYST_SERVER_ID: 'server_id',
  CATALYST_LOG_LEVEL: 'log_level',
  CATALYST_SYNC: 'sync',
  CATALYST_HEARTBEAT_MS: 'heartbeat_ms',
  CATALYST_MAX_REPLAY: 'max_replay',
  CATALYST_WS_MAX_PER_KEY: 'ws_max_per_key',
  CATALYST_REST_READ_PER_MIN: 'rest_read_per_min',
  CATALYST_REST_PUBLISH_PER_MIN: 'rest_publish_per_min',
  CATALYST_LIMITS_DISABLED: 'limits_disabled',
  CATALYST_METRICS: 'metrics',
};

/** Format zod issues as one line each, with the path. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export interface ConfigSources {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<Record<keyof Config, unknown>>;
}

/** Merge the sources and validate once, reporting every error together. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const merged: Record<string, unknown> = {};
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${sources.file}: ${(err as Error).message}`);
    }
    try {
      Object.assign(merged, JSON.parse(stripJsonComments(text)));
    } catch (err) {
      throw new ConfigError(`config file ${sources.file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  for (const [name, key] of Object.entries(ENV_TABLE)) {
    const v = sources.env?.[name];
    if (v !== undefined && v !== '') merged[key] = v;
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) if (v !== undefined) merged[k] = v;
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError('invalid configuration', formatIssues(parsed.error));
  const config = parsed.data;
  config.data_dir = path.resolve(config.data_dir);
  return config;
}

/** The config file allows // line comments so it can document itself; strip them before JSON.parse. */
export function stripJsonComments(text: string): string {
  return text.replace(/^\s*\/\/.*$/gm, '');
}
