import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { BEARER_PROTOCOL_PREFIX, TOKEN_PATTERN } from './api.js';

/**
 * The dashboard's guards, pure where they can be: a per-start token (256 bits) compared in constant time, an
 * optional password (kept only as a scrypt hash), the loopback-only rule, the Host check against DNS
 * rebinding, and the response headers every answer carries.
 */

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Constant-time comparison of a presented token with the real one. Both are hashed first so the compare runs
 * on equal lengths whatever was sent (timingSafeEqual needs equal lengths; a length check would leak).
 */
export function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && TOKEN_PATTERN.test(presented);
}

/** The token from `Authorization: Bearer <token>`, else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(authorization ?? '');
  return m?.[1];
}

/** The token from a WebSocket's offered subprotocols (`bearer.<token>`), else undefined. */
export function subprotocolToken(offered: string | undefined): string | undefined {
  for (const p of (offered ?? '').split(',').map((s) => s.trim())) {
    if (p.startsWith(BEARER_PROTOCOL_PREFIX)) return p.slice(BEARER_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

export interface PasswordHash {
  salt: Buffer;
  hash: Buffer;
}

/** scrypt with a random salt: the plain password is not kept after start. */
export function hashPassword(password: string): PasswordHash {
  const salt = randomBytes(16);
  return { salt, hash: scryptSync(password, salt, 32) };
}

export function passwordMatches(presented: string, h: PasswordHash): boolean {
  return timingSafeEqual(scryptSync(presented, h.salt, 32), h.hash);
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/**
 * Hosts a request may name: the loopback names with the real port, and the configured host. A page served
 * under any other name (a DNS-rebinding attacker's domain pointing at 127.0.0.1) is refused before anything
 * else, so its scripts can never read an answer.
 */
export function allowedHosts(port: number, configuredHost: string): Set<string> {
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const h = isIP(configuredHost) === 6 ? `[${configuredHost}]` : configuredHost;
  hosts.add(`${h}:${port}`.toLowerCase());
  return hosts;
}

/** Origins a browser may open the live feed from: the same hosts over http. */
export function allowedOrigins(hosts: ReadonlySet<string>): Set<string> {
  return new Set([...hosts].map((h) => `http://${h}`));
}

/**
 * Every answer's headers. The CSP allows only the page's own files (no inline script or style, no framing,
 * no other origin for fetch/WebSocket); no Access-Control-* header is ever sent, so no other origin can read
 * an answer (no CORS).
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};
