import { z } from 'zod';
import { ClassificationSchema, type Classification } from '@catalyst-signal/shared';

/**
 * ClassificationSchema, run faster at the ingest edge. The same schema objects, not a copy of the rules:
 *
 * - every field but `meta`, the strictness and the cross-field rules go through z.compile (zod's own
 *   generated parser for that schema). z.compile refuses the whole schema because `meta` holds z.json(),
 *   which is recursive, so `meta` is left out of the compiled part (any value passes there) and
 * - `meta` then goes through its own schema, at runtime, as before.
 *
 * Both accept exactly when ClassificationSchema does (`meta` is read by no other rule), and the output is
 * the same. Anything either part refuses is parsed again by ClassificationSchema itself, so a refusal's
 * issues (paths, messages) are the ones it always gave. Single-signal ingest spent ~11 % of the server's CPU
 * in this parse; this halves it (docs/benchmarks.md, S3).
 */
const def = ClassificationSchema.def;
const metaSchema = def.shape.meta;
const shape = { ...def.shape, meta: z.unknown().optional() };
// The cross-field rules read action and direction only, so they apply to this shape unchanged.
const checks = (def.checks ?? []) as z.core.$ZodCheck<z.output<z.ZodObject<typeof shape>>>[];
const withoutMeta = z.strictObject(shape).check(...checks);
// strict: a schema zod cannot compile must fail here, at start-up (and in the test), not silently run slow.
const compiled = z.compile(withoutMeta, { strict: true });

export function parseClassification(item: unknown): z.ZodSafeParseResult<Classification> {
  const fast = compiled.safeParse(item);
  if (fast.success) {
    const meta = fast.data.meta;
    if (meta === undefined) return fast as z.ZodSafeParseResult<Classification>;
    const m = metaSchema.safeParse(meta);
    if (m.success) {
      fast.data.meta = m.data;
      return fast as z.ZodSafeParseResult<Classification>;
    }
  }
  return ClassificationSchema.safeParse(item);
}
