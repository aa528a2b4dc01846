/**
 * Canonical JSON: exactly RFC 8785 (JSON Canonicalization Scheme, JCS). The signer and every verifier, in any
 * language, must produce the same bytes from the same signal whatever key order or number spelling the wire
 * used. The rules (docs/protocol.md "Canonical form" has them with test vectors, shared/test-vectors/):
 *  - no whitespace; object keys sorted by their UTF-16 code units (JavaScript's default sort);
 *  - numbers as ECMAScript Number.prototype.toString prints them (JSON.stringify does): 1e-8 → "1e-8",
 *    0.00002 → "0.00002", 1e21 → "1e+21", -0 → "0"; NaN and ±Infinity are refused;
 *  - strings as JSON.stringify writes well-formed strings (RFC 8785 §3.2.2.2: `\b \t \n \f \r \" \\`, other
 *    controls `\u00xx` lower-case, everything else literal UTF-8).
 * A string with a lone surrogate is not I-JSON (RFC 7493), so RFC 8785 has no form for it. The ingest edge refuses
 * such strings (illFormedStringPath: a 400 naming the field) and the signer refuses to sign one, so no signed
 * signal contains one. canonicalJson itself stays total and writes them as JSON.stringify does (`\ud800`),
 * because it also builds non-signature keys (subscription filter keys) where throwing would crash a handler.
 */
/** In `u` mode a surrogate pair is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);

export class CanonicalJsonError extends TypeError {
  override name = 'CanonicalJsonError';
}

const canonicalString = (s: string): string => JSON.stringify(s);

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return canonicalString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`non-finite number ${value}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${typeof value} is not JSON`);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const obj = value as Record<string, unknown>;
  // Absent optional fields (undefined) are not part of the value, as in JSON.stringify.
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return '{' + keys.map((k) => canonicalString(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
}

/**
 * The path of the first string (key or value) holding a lone surrogate, or undefined: such a value has no
 * RFC 8785 form and must not be signed. The ingest edge uses it to answer 400 with the field.
 */
export function illFormedStringPath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return wellFormed(value) ? undefined : path || '(root)';
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = illFormedStringPath(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const kp = path ? `${path}.${k}` : k;
    if (!wellFormed(k)) return kp;
    const p = illFormedStringPath(v, kp);
    if (p) return p;
  }
  return undefined;
}

/**
 * True when `value` nests deeper than `max` levels (a scalar is depth 0). Iterative on purpose: recursive
 * walkers (zod's z.json(), JSON.stringify, canonicalJson) overflow the stack on hostile nesting that still
 * fits in a small frame, so untrusted values are measured with this before any of them runs.
 */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
