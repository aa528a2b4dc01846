import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may carry secrets; pino replaces them before a line is written. */
export const REDACT_PATHS = [
  'key',
  '*.key',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'secret',
  '*.secret',
  'jwt.secret',
  'config.jwt.secret',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { svc: 'catalyst-server' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}
