/**
 * Why a network call failed, in words a person can act on. Node's fetch only says "fetch failed" and puts the
 * real reason in `err.cause` (ECONNREFUSED, a certificate problem, DNS); `ws` puts it on the error itself;
 * a dual-stack connect gives an AggregateError with one error per address.
 *   connect ECONNREFUSED 127.0.0.1:8787           -> ECONNREFUSED 127.0.0.1:8787
 *   getaddrinfo ENOTFOUND signals.example.org     -> ENOTFOUND signals.example.org
 *   self-signed certificate (DEPTH_ZERO_SELF_...) -> DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate
 */
export function netReason(e: unknown, depth = 0): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const err = e as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown; errors?: unknown };
  if (err.name === 'TimeoutError') return 'timed out';
  if (depth < 4 && typeof err.cause === 'object' && err.cause !== null)
    return netReason(err.cause, depth + 1);
  if (depth < 4 && Array.isArray(err.errors) && err.errors.length > 0)
    return [...new Set(err.errors.map((x) => netReason(x, depth + 1)))].join('; ');
  const code = typeof err.code === 'string' ? err.code : undefined;
  const message = typeof err.message === 'string' ? err.message : '';
  // Node's socket messages are "<syscall> <CODE> <target>": the syscall adds nothing for a reader.
  const m = /^(?:connect|getaddrinfo|read|write) (E[A-Z]+)(?: (.*))?$/.exec(message);
  if (m) return m[2] ? `${m[1]} ${m[2]}` : m[1]!;
  if (!message) return code ?? 'unknown error';
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
