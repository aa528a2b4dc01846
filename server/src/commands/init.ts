import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInitialKeys, formatIssuedKeys } from '../bootstrap.js';
import { ClusterSchema, ConfigSchema } from '../config.js';
import { createSigner, loadOrCreateSigningKey } from '../signing.js';
import { DB_FILE, openDb } from '../store/db.js';
import { KeyStore } from '../store/keys.js';
import { UsageError } from '../errors.js';

export const CONFIG_FILE = 'catalyst-server.json';

/** The config file, commented from the schema's own descriptions so the two cannot drift. */
export function renderConfigFile(dataDir: string): string {
  const shape = ConfigSchema.shape;
  const defaults = ConfigSchema.parse({ data_dir: dataDir });
  const lines = [
    '{',
    '  // catalyst-server configuration. Env CATALYST_* and CLI flags override these values.',
  ];
  const keys = Object.keys(defaults) as (keyof typeof defaults)[];
  keys.forEach((k, i) => {
    const desc = (shape as Record<string, { description?: string }>)[k]?.description;
    if (desc) lines.push(`  // ${desc}`);
    lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(defaults[k])}${i < keys.length - 1 ? ',' : ''}`);
  });
  lines.push(...clusterReference());
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * Cluster mode is opt-in, so its block is not in the file's values; it is documented here as comments (with
 * its defaults) for an operator to uncomment and fill in after the last key above (mind the comma). Every key
 * is listed, nested ones (tls.*) too: an operator setting up a cluster reads this, not the source.
 */
function clusterReference(): string[] {
  const example = ClusterSchema.parse({ nats_urls: ['nats://10.0.0.11:4222', 'nats://10.0.0.12:4222'] });
  const lines = [
    `  // ${ClusterSchema.description ?? 'cluster'} \`serve --role ingest|gateway|both\` (a flag) picks what a process does; docs/operations.md has a one-machine recipe.`,
    '  // "cluster": {',
  ];
  for (const [k, desc, depth] of schemaKeys(ClusterSchema)) {
    const pad = '  '.repeat(depth);
    if (desc) lines.push(`  //   ${pad}${k}: ${desc}`);
    const v = depth === 0 ? (example as Record<string, unknown>)[k] : undefined;
    if (v !== undefined) lines.push(`  //   ${pad}${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  }
  lines.push('  // }');
  return lines;
}

/** [key, description, depth] of an object schema and of its nested object schemas (optional ones too). */
function schemaKeys(schema: unknown, depth = 0): [string, string | undefined, number][] {
  const shape = objectShape(schema);
  if (!shape) return [];
  return Object.entries(shape).flatMap(([k, v]) => [
    [k, (v as { description?: string }).description, depth] as [string, string | undefined, number],
    ...schemaKeys(v, depth + 1),
  ]);
}

/** The shape of an object schema, looking through optional/default/pipe wrappers; undefined for a leaf. */
function objectShape(schema: unknown): Record<string, unknown> | undefined {
  let s = schema as {
    shape?: Record<string, unknown>;
    unwrap?: () => unknown;
    def?: { innerType?: unknown; in?: unknown };
  };
  for (let i = 0; i < 5 && s; i++) {
    if (s.shape && typeof s.shape === 'object') return s.shape;
    const inner = s.def?.innerType ?? s.def?.in ?? (typeof s.unwrap === 'function' ? s.unwrap() : undefined);
    s = inner as typeof s;
  }
  return undefined;
}

export interface InitResult {
  text: string;
  created: boolean;
}

/** Create data dir (0700), database, signing key (0600), config file and first keys. Refuses to redo it. */
export async function init(o: { dataDir: string; force?: boolean }): Promise<InitResult> {
  const dir = path.resolve(o.dataDir);
  const configFile = path.join(dir, CONFIG_FILE);
  const initialised = existsSync(path.join(dir, DB_FILE)) || existsSync(configFile);
  if (initialised && !o.force) {
    throw new UsageError(
      `${dir} is already initialised; use --force to rewrite its config file (the database and signing key are never overwritten)`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created = !existsSync(path.join(dir, DB_FILE));
  const db = openDb(dir);
  const issued = created ? createInitialKeys(new KeyStore(db)) : [];
  db.close();
  const signer = await createSigner(loadOrCreateSigningKey(dir).key);
  writeFileSync(configFile, renderConfigFile(dir), { mode: 0o600 });
  const mode = (statSync(dir).mode & 0o777).toString(8);
  return {
    created: true,
    text: [
      `Initialised ${dir} (mode ${mode})`,
      `  database      ${path.join(dir, DB_FILE)}`,
      `  signing key   ${path.join(dir, 'signing-key.pem')} (fingerprint SHA256:${signer.fingerprint})`,
      `  config        ${configFile}`,
      issued.length ? formatIssuedKeys(issued) : 'Keys already existed; none created (use `keys create`).',
      `Start it: npx --no -- catalyst-server serve --config ${configFile} (in the checkout; or node server/dist/cli.js serve …)`,
    ].join('\n'),
  };
}
