/**
 * Byte helpers for the transparency-log formats, written for both Node and browsers (no Buffer, no node:*),
 * because the client and the pages verify with the same code.
 */

/** A format or encoding the transparency-log code refuses; the message is one line naming what is wrong. */
export class TlogFormatError extends Error {
  override name = 'TlogFormatError';
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export const utf8Bytes = (s: string): Uint8Array => utf8.encode(s);

/** Decodes UTF-8, refusing invalid sequences (C2SP notes MUST be valid UTF-8). */
export function utf8Text(b: Uint8Array): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new TlogFormatError('not valid UTF-8');
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Standard base64 (RFC 4648 §4), with padding. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64: padded, no whitespace, and the canonical spelling (unused bits zero). */
export function fromBase64(s: string, what = 'base64'): Uint8Array {
  if (!BASE64.test(s)) throw new TlogFormatError(`${what}: not standard base64`);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  // atob accepts non-zero unused bits, so two spellings would decode to one value; only one is accepted.
  if (toBase64(out) !== s) throw new TlogFormatError(`${what}: not canonical base64`);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
