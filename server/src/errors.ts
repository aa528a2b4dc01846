import { ErrorCode } from '@catalyst-signal/shared';

/** An error that maps to an HTTP problem+json answer. The mapping to status lives here and nowhere else. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly errors?: { path: string; message: string }[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, errors?: { path: string; message: string }[]) =>
  new HttpError(400, ErrorCode.validation, message, errors);
export const unauthenticated = (message = 'missing or invalid credentials') =>
  new HttpError(401, ErrorCode.unauthenticated, message, undefined, { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message: string) => new HttpError(403, ErrorCode.forbidden, message);
export const notFound = (message = 'not found') => new HttpError(404, ErrorCode.notFound, message);
export const conflict = (message: string) => new HttpError(409, ErrorCode.conflict, message);
export const payloadTooLarge = (limit: number) =>
  new HttpError(413, ErrorCode.payloadTooLarge, `body larger than ${limit} bytes`);
export const unsupportedMediaType = () =>
  new HttpError(415, ErrorCode.unsupportedMediaType, 'Content-Type must be application/json');
export const tooManyRequests = (retryAfterMs: number, headers: Record<string, string> = {}) =>
  new HttpError(429, ErrorCode.rateLimited, 'rate limit exceeded', undefined, {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    ...headers,
  });
export const unavailable = (message: string) =>
  new HttpError(503, ErrorCode.unavailable, message, undefined, { 'Retry-After': '1' });

// The errors with their own exit code live beside the CLI's mapping (exit-errors.ts), which imports nothing.
export { ConfigError, ServerUnreachableError, UsageError } from './exit-errors.js';

/** A storage failure that is likely transient (disk full, database locked): 503, retry later. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly code = 'store_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
