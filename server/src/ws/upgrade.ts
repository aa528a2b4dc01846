import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { ErrorCode, WS_BEARER_PROTOCOL_PREFIX, WS_SUBPROTOCOL } from '@catalyst-signal/shared';
import { admit, type AdmissionDeps } from '../auth/admission.js';
import { bearerToken, type Principal } from '../auth/authenticator.js';
import { API_HEADERS } from '../http/respond.js';
import type { Limits } from '../limits.js';
import type { Metrics } from '../metrics.js';
import type { SocketData } from './socket-state.js';

const STATUS_LINE = {
  401: '401 Unauthorized',
  403: '403 Forbidden',
  429: '429 Too Many Requests',
} as const;

export interface UpgradeDeps {
  limits: Limits;
  admission: AdmissionDeps;
  metrics: Metrics;
  closing(): boolean;
  /** A reason to refuse every upgrade (503), e.g. a gateway whose replica diverged; undefined to serve. */
  unavailable(): string | undefined;
  atKeyLimit(principalId: string): boolean;
  socketData(ip: string, principal: Principal | undefined): SocketData;
}

/**
 * Admission of a WebSocket: per-IP connection rate, then credentials from the Authorization header or a
 * `bearer.<token>` subprotocol through the shared admission (auth/admission.ts).
 * Refusals are plain HTTP answers (401/403/429/503), never an open socket.
 */
export async function upgrade(
  d: UpgradeDeps,
  res: HttpResponse,
  req: HttpRequest,
  ctx: us_socket_context_t,
): Promise<void> {
  const key = req.getHeader('sec-websocket-key');
  const protocols = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  const authorization = req.getHeader('authorization');
  const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const reject = (status: string, code: string, message: string, retryAfterMs?: number) => {
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(status).writeHeader('Content-Type', 'application/problem+json');
      for (const [k, v] of Object.entries(API_HEADERS)) res.writeHeader(k, v);
      if (retryAfterMs !== undefined) res.writeHeader('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
      res.end(
        JSON.stringify({ title: status, status: Number(status.slice(0, 3)), code, detail: message }),
        true,
      );
    });
  };
  // Before `closing`: a gateway that stopped serving because its replica diverged says why, not "shutting down".
  const refused = d.unavailable();
  if (refused) return reject('503 Service Unavailable', ErrorCode.unavailable, refused, 1000);
  if (d.closing()) return reject('503 Service Unavailable', ErrorCode.unavailable, 'shutting down');

  const conn = await d.limits.wsConnectionsPerIp.consume(ip);
  if (!conn.ok) {
    d.metrics.rateLimited.inc({ kind: 'ws_connections' });
    return reject(
      '429 Too Many Requests',
      ErrorCode.rateLimited,
      'too many connections from this address',
      conn.retryAfterMs,
    );
  }
  const offered = protocols
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const bearerProto = offered.find((p) => p.startsWith(WS_BEARER_PROTOCOL_PREFIX));
  const token = bearerToken(authorization) ?? bearerProto?.slice(WS_BEARER_PROTOCOL_PREFIX.length);

  // No credentials: the socket opens unauthenticated and must send `auth` within the deadline.
  let principal: Principal | undefined;
  if (token) {
    const a = await admit(d.admission, {
      token,
      ip,
      scope: 'read',
      transport: 'ws',
      atKeyLimit: d.atKeyLimit,
    });
    if (!a.ok) return reject(STATUS_LINE[a.status], a.code, a.message, a.retryAfterMs);
    principal = a.principal;
  }
  if (aborted) return;
  const data = d.socketData(ip, principal);
  // Browsers authenticating by subprotocol must get one of their offered protocols back.
  const chosen = offered.includes(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : (bearerProto ?? '');
  res.cork(() => res.upgrade(data, key, chosen, extensions, ctx));
}
