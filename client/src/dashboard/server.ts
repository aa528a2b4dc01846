import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Journal } from '../journal/index.js';
import {
  ApprovalRequestSchema,
  DASHBOARD_PATHS,
  EXPORT_MAX_ROWS,
  KillSwitchRequestSchema,
  LoginRequestSchema,
  StoryQuerySchema,
  type KillSwitchRequest,
} from './api.js';
import { exportCsv } from './export.js';
import { DashboardFeed, killState } from './feed.js';
import {
  SECURITY_HEADERS,
  allowedHosts,
  allowedOrigins,
  bearerToken,
  hashPassword,
  isLoopback,
  resolvesToLoopback,
  type HostLookup,
  newToken,
  passwordMatches,
  clientAddress,
  DASHBOARD_PASSWORD_MIN_LENGTH,
  LoginLimiter,
  subprotocolToken,
  tokenMatches,
} from './security.js';
import { buildSnapshot } from './snapshot.js';
import { buildStory } from './story.js';
import { DashboardStream } from './stream.js';
import { DashboardRefused } from '../errors.js';

/**
 * The local dashboard's HTTP server (node:http + ws; the page is pre-built in client/dist/web). Everything but
 * the page shell and its assets needs the per-start token; every answer carries SECURITY_HEADERS; requests
 * naming a Host other than this server's are refused (DNS rebinding). Nothing here places or cancels an
 * order or calls the broker: the writes are the journal's kill switch and, in approval mode, the friend's answer
 * to a waiting entry (which `run` then checks against every filter and limit before it places anything).
 */

export { DashboardRefused };

export interface DashboardOptions {
  config: Config;
  journalPath: string;
  log: Logger;
  /** The password from config.dashboard.password_env (needed beyond loopback). */
  password?: string | undefined;
  live?: boolean | undefined;
  marketNow?: (() => number) | undefined;
  /** Built page (index.html + assets); default: the package's dist/web. */
  webDir?: string | undefined;
  heartbeatMs?: number | undefined;
  /** How dashboard.host is resolved (default: the system resolver, as the socket binds it). */
  lookup?: HostLookup | undefined;
  /** Row cap of one CSV download (default EXPORT_MAX_ROWS). */
  exportMaxRows?: number | undefined;
}

export interface DashboardServer {
  url: string;
  port: number;
  token: string;
  feed: DashboardFeed;
  stream: DashboardStream;
  close(): Promise<void>;
}

const MAX_BODY = 4096;

class BodyTooLarge extends Error {
  override name = 'BodyTooLarge';
}
const MAX_URL = 2048;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export function defaultWebDir(): string {
  // dist/dashboard/server.js -> dist/web; src/dashboard/server.ts (tests) -> ../../dist/web
  const here = import.meta.dirname;
  const candidates = [join(here, '../web'), join(here, '../../dist/web')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

/** The built page, read once: only these exact paths are ever served (no file system lookups per request). */
function loadPage(dir: string): Map<string, { body: Buffer; type: string }> {
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`dashboard page not built (${dir}/index.html missing): run npm run build`);
  const files = new Map<string, { body: Buffer; type: string }>();
  const index = { body: readFileSync(join(dir, 'index.html')), type: TYPES['.html']! };
  files.set('/', index);
  files.set('/index.html', index);
  const assets = join(dir, 'assets');
  if (existsSync(assets)) {
    for (const f of readdirSync(assets)) {
      const type = TYPES[extname(f)];
      if (type) files.set(`/assets/${f}`, { body: readFileSync(join(assets, f)), type });
    }
  }
  return files;
}

export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const { config, log } = o;
  const host = config.dashboard.host;
  const loopback = await resolvesToLoopback(host, o.lookup);
  if (!loopback && !o.password) {
    throw new DashboardRefused(
      `dashboard.host ${host} is not loopback: set a password in ${config.dashboard.password_env} (environment or .env) to listen beyond this machine`,
    );
  }
  if (o.password !== undefined && o.password.length < DASHBOARD_PASSWORD_MIN_LENGTH) {
    throw new DashboardRefused(
      `the dashboard password in ${config.dashboard.password_env} is shorter than ${DASHBOARD_PASSWORD_MIN_LENGTH} characters`,
    );
  }
  if (!loopback) {
    // Plain HTTP: the password and the token cross the network readable by anyone on the path (docs/security.md).
    log.warn(
      { host },
      'dashboard listens beyond loopback over plain HTTP: put TLS in front of it (a reverse proxy or an SSH tunnel)',
    );
  }
  const password = o.password ? hashPassword(o.password) : undefined;
  const page = loadPage(o.webDir ?? defaultWebDir());
  const token = newToken();
  const journal = Journal.open(o.journalPath);
  const feed = new DashboardFeed(journal);
  const stream = new DashboardStream(feed, o.heartbeatMs ?? 5000);
  let hosts = new Set<string>();
  let origins = new Set<string>();
  const logins = new LoginLimiter();

  const send = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
      ...extra,
    });
    res.end(text);
  };
  const problem = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: code, message }, status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});

  const readJson = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
        return reject(new Error('Content-Type must be application/json'));
      let size = 0;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          // Answered with 413 and the connection closed; the rest of the body is never buffered.
          req.removeAllListeners('data');
          req.resume();
          reject(new BodyTooLarge(`body larger than ${MAX_BODY} bytes`));
        } else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error('body is not JSON'));
        }
      });
      req.on('error', reject);
    });

  const setKill = (r: KillSwitchRequest) => {
    journal.setKillSwitch(r.on ? (r.reason ?? 'paused from the dashboard') : undefined);
    log.warn({ on: r.on }, r.on ? 'kill switch ON from the dashboard' : 'kill switch OFF from the dashboard');
    // Our own write does not move data_version on this connection: look now.
    stream.broadcast(feed.poll(true));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hosts.has((req.headers.host ?? '').toLowerCase()))
      return problem(res, 403, 'bad_host', 'unknown Host (open the URL the client printed)');
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL) return problem(res, 414, 'uri_too_long', 'URL too long');
    const path = rawUrl.split('?')[0]!;
    const file = page.get(path);
    if (file && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': file.type,
        'Content-Length': file.body.length,
      });
      return res.end(req.method === 'HEAD' ? undefined : file.body);
    }
    if (path === DASHBOARD_PATHS.login && req.method === 'POST') {
      if (!password) return problem(res, 404, 'not_found', 'no password configured');
      const address = clientAddress(req.socket.remoteAddress);
      if (logins.waitMs(address, Date.now()) > 0) return problem(res, 429, 'slow_down', 'wait a second');
      const body = LoginRequestSchema.safeParse(await readJson(req));
      if (!body.success || !passwordMatches(body.data.password, password)) {
        logins.failed(address, Date.now());
        return problem(res, 401, 'unauthorized', 'wrong password');
      }
      return send(res, 200, { token });
    }
    if (!path.startsWith('/api/')) return problem(res, 404, 'not_found', 'not found');
    if (!tokenMatches(bearerToken(req.headers.authorization), token))
      return problem(res, 401, 'unauthorized', 'missing or wrong dashboard token');
    if (path === DASHBOARD_PATHS.snapshot && req.method === 'GET') {
      stream.broadcast(feed.poll());
      return send(res, 200, buildSnapshot(journal, feed, { config, live: o.live, marketNow: o.marketNow }));
    }
    if (path === DASHBOARD_PATHS.story && req.method === 'GET') {
      const query = StoryQuerySchema.safeParse(
        Object.fromEntries(new URLSearchParams(rawUrl.split('?')[1] ?? '')),
      );
      if (!query.success) return problem(res, 400, 'bad_request', 'give epoch and seq');
      const story = buildStory(journal, query.data.epoch, query.data.seq);
      if (!story) return problem(res, 404, 'not_found', 'no decision for that signal');
      return send(res, 200, story);
    }
    if (path === DASHBOARD_PATHS.export && req.method === 'GET') {
      const params = new URLSearchParams(rawUrl.split('?')[1] ?? '');
      const csv = await exportCsv(journal, params, Date.now(), o.exportMaxRows ?? EXPORT_MAX_ROWS);
      if (!csv.ok) return problem(res, csv.status, csv.code, csv.message);
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': `attachment; filename="${csv.filename}"`,
        'Content-Length': Buffer.byteLength(csv.body),
      });
      return res.end(csv.body);
    }
    if (path === DASHBOARD_PATHS.killSwitch && req.method === 'POST') {
      const body = KillSwitchRequestSchema.safeParse(await readJson(req));
      if (!body.success) return problem(res, 400, 'bad_request', body.error.issues[0]?.message ?? 'invalid');
      setKill(body.data);
      return send(res, 200, { kill_switch: killState(journal.killSwitch()) });
    }
    if (path === DASHBOARD_PATHS.approval && req.method === 'POST') {
      // A write that can place an order: our own page only (a browser always names its origin on a POST).
      const origin = req.headers.origin;
      if (origin !== undefined && !origins.has(origin.toLowerCase()))
        return problem(res, 403, 'bad_origin', 'not this dashboard page');
      const body = ApprovalRequestSchema.safeParse(await readJson(req));
      if (!body.success) return problem(res, 400, 'bad_request', body.error.issues[0]?.message ?? 'invalid');
      const { epoch, seq, action } = body.data;
      const result = journal.approvals.answer(
        epoch,
        seq,
        action === 'approve' ? 'approved' : 'rejected',
        'dashboard',
        Date.now(),
      );
      log.warn({ epoch, seq, action, result }, 'approval answered from the dashboard');
      stream.broadcast(feed.poll(true));
      return send(res, result === 'done' ? 200 : 409, { result: result === 'done' ? 'done' : 'too_late' });
    }
    return problem(res, 404, 'not_found', 'not found');
  };

  const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch((e: Error) => {
      if (res.headersSent) return res.destroy();
      if (e instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        return problem(res, 413, 'payload_too_large', e.message);
      }
      problem(res, 400, 'bad_request', e.message.slice(0, 200));
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    socket.on('error', () => socket.destroy());
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) return refuse('403 Forbidden');
    // A browser always names the page's origin: only our own page may open the feed.
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin.toLowerCase())) return refuse('403 Forbidden');
    if ((req.url ?? '').split('?')[0] !== DASHBOARD_PATHS.stream) return refuse('404 Not Found');
    const presented =
      subprotocolToken(req.headers['sec-websocket-protocol']) ?? bearerToken(req.headers.authorization);
    if (!tokenMatches(presented, token)) return refuse('401 Unauthorized');
    stream.accept(req, socket, head);
  });

  const timer = setInterval(() => {
    try {
      stream.broadcast(feed.poll());
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'dashboard: journal read failed');
    }
  }, config.dashboard.poll_ms);
  timer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.dashboard.port, host, () => resolve());
  }).catch((e: Error) => {
    clearInterval(timer);
    stream.close();
    journal.close();
    throw e;
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(port, host);
  origins = allowedOrigins(hosts);
  const shown = isIP(host) && isLoopback(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shown}:${port}/#token=${token}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    token,
    feed,
    stream,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        clearInterval(timer);
        stream.close();
        server.closeAllConnections();
        server.close(() => {
          journal.close();
          resolve();
        });
      })),
  };
}
