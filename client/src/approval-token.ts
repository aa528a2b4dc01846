import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateFile } from './file-modes.js';

/**
 * One-time approval tokens for notification buttons (approval mode, docs/client.md "Approval"): an ntfy action
 * publishes the token to a topic the client subscribes to, so an answer reaches the client without an inbound
 * port. A token is `<payload>.<mac>`: the payload names the signal (epoch, seq), its decision id, the action and
 * the expiry; the mac is HMAC-SHA256 under a secret generated into the data dir (0600) that never leaves it.
 * Whoever can read the topic can only replay a token, and each is accepted once (journaled by its hash).
 */

export const APPROVAL_SECRET_FILE = 'approval.secret';

const PayloadSchema = z.strictObject({
  e: z.string().min(1).max(64),
  s: z.number().int().min(0),
  d: z.number().int().min(1),
  a: z.enum(['approve', 'reject']),
  x: z.number().int().min(0),
});

export interface ApprovalTokenFacts {
  epoch: string;
  seq: number;
  decisionId: number;
  action: 'approve' | 'reject';
  expiresAt: number;
}

/** The data dir's approval secret, created (32 random bytes, 0600) the first time. */
export function approvalSecret(dataDir: string): Buffer {
  const path = join(dataDir, APPROVAL_SECRET_FILE);
  ensurePrivateFile(path);
  const hex = readFileSync(path, 'utf8').trim();
  if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  const fresh = randomBytes(32);
  writeFileSync(path, fresh.toString('hex') + '\n', { mode: 0o600 });
  return fresh;
}

const mac = (secret: Buffer, payload: string) => createHmac('sha256', secret).update(payload).digest();

export function mintApprovalToken(secret: Buffer, f: ApprovalTokenFacts): string {
  const payload = Buffer.from(
    JSON.stringify({ e: f.epoch, s: f.seq, d: f.decisionId, a: f.action, x: f.expiresAt }),
  ).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** What a received token says, when it is ours and still valid at `now`; else why not (one line for the log). */
export function readApprovalToken(
  secret: Buffer,
  token: string,
  now: number,
): { ok: true; facts: ApprovalTokenFacts; hash: string } | { ok: false; why: string } {
  const parts = token.trim().split('.');
  if (parts.length !== 2 || parts[0]!.length > 400) return { ok: false, why: 'not an approval token' };
  const [payload, given] = parts as [string, string];
  const want = mac(secret, payload);
  const got = Buffer.from(given, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, why: 'bad signature' };
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, why: 'unreadable payload' };
  }
  const p = PayloadSchema.safeParse(raw);
  if (!p.success) return { ok: false, why: 'unreadable payload' };
  if (p.data.x <= now) return { ok: false, why: `expired at ${new Date(p.data.x).toISOString()}` };
  return {
    ok: true,
    facts: { epoch: p.data.e, seq: p.data.s, decisionId: p.data.d, action: p.data.a, expiresAt: p.data.x },
    hash: createHash('sha256').update(token.trim()).digest('hex'),
  };
}
