import { z } from 'zod';
import type { Journal } from '../journal/index.js';
import { WITNESS_POLICY_META } from './witness-watch.js';

/** What `status` shows of notifications: the last halt (with its recovery) and each target's delivery counts. */

/** Journal meta keys: the last halt (JSON HaltRecord) and the delivery state per target (JSON list). */
export const LAST_HALT_META = 'last_halt';
export const NOTIFY_STATE_META = 'notify_state';

const HaltSchema = z.object({
  at: z.string(),
  exit: z.number(),
  message: z.string(),
  recovery: z.string().optional(),
});
const StatesSchema = z.array(
  z.object({
    target: z.string(),
    service: z.string(),
    sent: z.number(),
    failed: z.number(),
    dropped: z.number(),
    queued: z.number(),
    last_ok_at: z.string().optional(),
    last_error: z.string().optional(),
    last_error_at: z.string().optional(),
  }),
);

function readJson<T>(raw: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (!raw) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** What the last run's witness policy check said (notify/witness-watch.ts), when log.witness_policy is set. */
const WitnessSchema = z.object({
  ok: z.boolean(),
  at: z.string(),
  cosigned: z.number(),
  need: z.number(),
  size: z.number().optional(),
  sinceMs: z.number().optional(),
});

export function notifyStatus(j: Journal) {
  return {
    last_halt: readJson(j.meta(LAST_HALT_META), HaltSchema) ?? null,
    witness_policy: readJson(j.meta(WITNESS_POLICY_META), WitnessSchema) ?? null,
    notifications: readJson(j.meta(NOTIFY_STATE_META), StatesSchema) ?? [],
  };
}
