import { ErrorCode, type Scope } from '@catalyst-signal/shared';
import type { Limit } from '../limits.js';
import type { Metrics } from '../metrics.js';
import { hasScope, type Authenticator, type Principal } from './authenticator.js';

/** Why a caller was refused; each door (REST, WS upgrade, WS `auth` frame) maps it to its own answer. */
export const Refused = {
  /** No credential at all. */
  missing: 'missing',
  /** Too many failed credentials from this address: refused before looking at this one. */
  blocked: 'blocked',
  /** Unknown, malformed, revoked or expired credential (counts as a failure of the address). */
  invalid: 'invalid',
  /** A valid credential without the scope the door needs. */
  scope: 'scope',
  /** The principal already holds its maximum of sockets. */
  perKey: 'per_key',
} as const;
export type Refused = (typeof Refused)[keyof typeof Refused];

export type Admission =
  | { ok: true; principal: Principal }
  | {
      ok: false;
      why: Refused;
      status: 401 | 403 | 429;
      code: ErrorCode;
      message: string;
      retryAfterMs?: number;
    };

export interface AdmissionDeps {
  auth: Authenticator;
  /** The per-IP failed-authentication limit, shared by every door. */
  authFailures: Limit;
  metrics: Metrics;
}

export interface AdmissionRequest {
  token: string | undefined;
  ip: string;
  scope: Scope;
  transport: 'rest' | 'ws';
  /** Sockets only: is this principal at its concurrent-socket cap? */
  atKeyLimit?: (principalId: string) => boolean;
}

/**
 * Credential -> principal, in the one order every door uses: the address's failure gate BEFORE the
 * credential is verified (a blocked address learns nothing, whatever it sends), then verification (a
 * failure counts against the address), then scope, then the per-key socket cap. REST, the WebSocket
 * upgrade and the in-band `auth` frame all call this, so a limit cannot exist on one door and not another.
 */
export async function admit(d: AdmissionDeps, r: AdmissionRequest): Promise<Admission> {
  if (!r.token)
    return {
      ok: false,
      why: Refused.missing,
      status: 401,
      code: ErrorCode.unauthenticated,
      message: 'missing credentials',
    };
  const gate = await d.authFailures.exhausted(r.ip);
  if (!gate.ok) {
    d.metrics.rateLimited.inc({ kind: 'auth_failures' });
    return {
      ok: false,
      why: Refused.blocked,
      status: 429,
      code: ErrorCode.rateLimited,
      message: 'too many failed authentications from this address',
      retryAfterMs: gate.retryAfterMs,
    };
  }
  const result = await d.auth.authenticate(r.token);
  if (!result.ok) {
    d.metrics.authFailures.inc({ transport: r.transport });
    await d.authFailures.penalty(r.ip);
    return {
      ok: false,
      why: Refused.invalid,
      status: 401,
      code: ErrorCode.unauthenticated,
      message: 'invalid credentials',
    };
  }
  const p = result.principal;
  if (!hasScope(p, r.scope))
    return {
      ok: false,
      why: Refused.scope,
      status: 403,
      code: ErrorCode.forbidden,
      message: `${r.scope} scope required`,
    };
  if (r.atKeyLimit?.(p.id)) {
    d.metrics.rateLimited.inc({ kind: 'ws_per_key' });
    return {
      ok: false,
      why: Refused.perKey,
      status: 429,
      code: ErrorCode.rateLimited,
      message: 'too many concurrent connections for this key',
    };
  }
  return { ok: true, principal: p };
}
