import { parseConfig, type Config, type ConfigInput } from '../../src/config.js';

type Deep<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : Deep<T[K]>) : T[K] };

/** A valid config with test-friendly overrides (deep-merged one level per section). */
export function testConfig(over: Deep<ConfigInput> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(over)) raw[k] = v;
  return parseConfig(raw);
}
