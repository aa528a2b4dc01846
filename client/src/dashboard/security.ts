import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
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

/**
 * Shortest password accepted for the dashboard: beyond loopback it is all that stands between the network and
 * the friend's trading page, and the per-address limit below allows one guess a second per address.
 */
export const DASHBOARD_PASSWORD_MIN_LENGTH = 12;

/** Bounds of the login limiter: how long one wrong password blocks its address, and how many it tracks. */
export const LOGIN_LIMITS = { blockMs: 1000, maxAddresses: 4096 } as const;

/**
 * Failed logins, per client address: a wrong password blocks ITS address for a second, never anyone else's,
 * so a peer guessing in a loop cannot lock the friend out. Tracking is bounded (a flood from many addresses
 * cannot grow memory): past the ceiling, expired entries go first, then the oldest. Pure: time is an argument.
 */
export class LoginLimiter {
  private readonly blockedUntil = new Map<string, number>();

  constructor(private readonly limits: { blockMs: number; maxAddresses: number } = LOGIN_LIMITS) {}

  /** ms this address must still wait, or 0. */
  waitMs(address: string, now: number): number {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return 0;
    if (until <= now) {
      this.blockedUntil.delete(address);
      return 0;
    }
    return until - now;
  }

  failed(address: string, now: number): void {
    this.blockedUntil.delete(address);
    if (this.blockedUntil.size >= this.limits.maxAddresses) {
      for (const [a, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(a);
    }
    if (this.blockedUntil.size >= this.limits.maxAddresses) {
      const oldest = this.blockedUntil.keys().next();
      if (!oldest.done) this.blockedUntil.delete(oldest.value);
    }
    this.blockedUntil.set(address, now + this.limits.blockMs);
  }

  get tracked(): number {
    return this.blockedUntil.size;
  }
}

/** One key per client: an IPv4-mapped IPv6 address is its IPv4 address. */
export function clientAddress(remote: string | undefined): string {
  const a = remote ?? '';
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** Is this IP address a loopback one (127.0.0.0/8, ::1, or 127.x mapped into IPv6)? A name is not an address. */
export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) === 6) {
    const a = address.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    return a === '::1' || (mapped !== null && mapped[1]!.startsWith('127.'));
  }
  return false;
}

export type HostLookup = (host: string) => Promise<readonly { address: string }[]>;
const systemLookup: HostLookup = (host) => lookup(host, { all: true });

/**
 * Does `host` mean loopback, judged by the addresses it resolves to (what the socket binds), never by its
 * spelling: /etc/hosts or a resolver may point `localhost` anywhere. A name that does not resolve is not.
 */
export async function resolvesToLoopback(host: string, resolve: HostLookup = systemLookup): Promise<boolean> {
  if (isIP(host)) return isLoopback(host);
  try {
    const addresses = await resolve(host);
    return addresses.length > 0 && addresses.every((a) => isLoopback(a.address));
  } catch {
    return false;
  }
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
