/**
 * Canonical JSON (RFC 8785 style for the values this protocol carries): object keys sorted by UTF-16 code
 * units, no whitespace, numbers as ECMAScript prints them. The signer and the verifier must produce the same
 * bytes from the same signal, whatever key order the wire used.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    if (value === undefined) throw new TypeError('undefined is not JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
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
