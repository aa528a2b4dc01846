import { pino } from 'pino';

/** Silent logger for in-process tests (set TEST_LOG=debug to see it). */
export const testLog = pino({ level: process.env['TEST_LOG'] ?? 'silent' });
