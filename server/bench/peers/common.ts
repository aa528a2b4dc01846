/**
 * What every peer shares: argv, the SQLite store (one insert per POST, WAL), the ingest route and the bench-only
 * gc route. Peers are deliberately plain: each does what a careful developer would write in an afternoon.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ClassificationSchema } from '@catalyst-signal/shared';

export interface PeerOptions {
  port: number;
  host: string;
  dataDir: string;
  sync: 'normal' | 'full';
}

export function parsePeerArgs(argv: string[]): PeerOptions {
  const opts: PeerOptions = { port: 0, host: '127.0.0.1', dataDir: '', sync: 'normal' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value = ''] = [argv[i], argv[i + 1]];
    if (flag === '--port') opts.port = Number(value);
    else if (flag === '--host') opts.host = value;
    else if (flag === '--data-dir') opts.dataDir = value;
    else if (flag === '--sync' && (value === 'normal' || value === 'full')) opts.sync = value;
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!opts.dataDir) throw new Error('--data-dir is required');
  return opts;
}

export type PeerSignal = Record<string, unknown> & { seq: number; epoch: string; ingested_at: string };

const INSERT = 'INSERT INTO signals (seq, source_id, body) VALUES (?, ?, ?)';
const FIND = 'SELECT seq FROM signals WHERE source_id = ?';

/** One row per signal; seq assigned in memory, inside the synchronous insert. */
export class PeerStore {
  readonly epoch = randomBytes(8).toString('hex');
  private seq = 0;
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;
  private readonly findStmt: Database.Statement;

  constructor(dataDir: string, sync: 'normal' | 'full') {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'peer.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS signals (seq INTEGER PRIMARY KEY, source_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL)',
    );
    this.insertStmt = this.db.prepare(INSERT);
    this.findStmt = this.db.prepare(FIND).pluck();
  }

  /** Returns the stored signal, or the original seq when source_id was seen before. */
  insert(classification: Record<string, unknown>): PeerSignal | { duplicateOf: number } {
    const seq = this.seq + 1;
    const signal: PeerSignal = {
      ...classification,
      seq,
      epoch: this.epoch,
      ingested_at: new Date().toISOString(),
    };
    try {
      this.insertStmt.run(seq, classification.source_id, JSON.stringify(signal));
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
      return { duplicateOf: this.findStmt.get(classification.source_id) as number };
    }
    this.seq = seq;
    return signal;
  }

  /** Many rows in one transaction (used to create backlogs for the replay scenario). */
  insertMany(list: Record<string, unknown>[]): (PeerSignal | { duplicateOf: number })[] {
    return this.db.transaction(() => list.map((c) => this.insert(c)))();
  }
}

const MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** HTTP handler: POST /v1/signals (one object or an array), POST /bench/gc. Calls `broadcast` per new signal. */
export function ingestHandler(store: PeerStore, broadcast: (signal: PeerSignal) => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'POST' && req.url === '/bench/gc') {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      return reply(res, 200, { gc: Boolean(gc), rss: process.memoryUsage().rss });
    }
    if (req.method !== 'POST' || req.url !== '/v1/signals') return reply(res, 404, { error: 'not found' });
    const text = await readBody(req);
    let raw: unknown;
    try {
      raw = text === null ? undefined : JSON.parse(text);
    } catch {
      return reply(res, 400, { error: 'bad json' });
    }
    const list = Array.isArray(raw) ? raw : [raw];
    const parsed: Record<string, unknown>[] = [];
    for (const item of list) {
      const r = ClassificationSchema.safeParse(item);
      if (!r.success) return reply(res, 422, { error: 'validation failed' });
      parsed.push(r.data);
    }
    const stored = parsed.length === 1 ? [store.insert(parsed[0]!)] : store.insertMany(parsed);
    const results = stored.map((s, i) => {
      if ('duplicateOf' in s) return { source_id: parsed[i]!.source_id, seq: s.duplicateOf, duplicate: true };
      broadcast(s);
      return { source_id: s.source_id, seq: s.seq, duplicate: false };
    });
    const anyNew = results.some((r) => !r.duplicate);
    if (Array.isArray(raw)) return reply(res, anyNew ? 201 : 200, { epoch: store.epoch, results });
    return reply(res, anyNew ? 201 : 200, { ...results[0], epoch: store.epoch });
  };
}

export function createPeerHttpServer(handler: ReturnType<typeof ingestHandler>): Server {
  const server = createServer((req, res) => void handler(req, res));
  server.keepAliveTimeout = 60_000;
  return server;
}

/** Same readiness line our server prints (pino style), so the harness reads both the same way. */
export function announce(server: Server, name: string): void {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(JSON.stringify({ msg: 'listening', port, peer: name, pid: process.pid }) + '\n');
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
