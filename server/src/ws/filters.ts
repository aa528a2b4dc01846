import { canonicalJson, type Filters } from '@catalyst-signal/shared';

/** The fields a filter looks at; both a stored row and a parsed signal have them. */
export interface Filterable {
  symbol: string;
  catalyst: string;
  direction?: string | undefined;
  confidence: number;
}

export interface CompiledFilter {
  /** Canonical text of the filter: subscribers with equal filters share one uWS topic. */
  key: string;
  matches(s: Filterable): boolean;
}

/** Normalise (upper-case symbols, sort, dedupe) so equal filters get equal keys. Pure. */
export function compileFilter(f: Filters): CompiledFilter | undefined {
  const norm = {
    symbols: f.symbols && [...new Set(f.symbols.map((s) => s.toUpperCase()))].sort(),
    catalysts: f.catalysts && [...new Set(f.catalysts)].sort(),
    directions: f.directions && [...new Set(f.directions)].sort(),
    min_confidence: f.min_confidence,
  };
  if (!norm.symbols && !norm.catalysts && !norm.directions && norm.min_confidence === undefined)
    return undefined;
  const symbols = norm.symbols && new Set(norm.symbols);
  const catalysts = norm.catalysts && new Set(norm.catalysts);
  const directions = norm.directions && new Set<string>(norm.directions);
  const min = norm.min_confidence ?? 0;
  return {
    key: canonicalJson(norm),
    matches: (s) =>
      s.confidence >= min &&
      (!symbols || symbols.has(s.symbol)) &&
      (!catalysts || catalysts.has(s.catalyst)) &&
      (!directions || directions.has(s.direction ?? '')),
  };
}

/**
 * Distinct live filters with a reference count. A broadcast evaluates each distinct filter once and
 * publishes to its topic, so cost grows with the number of different filters, not of filtered sockets.
 */
export class FilterGroups {
  private readonly groups = new Map<string, { filter: CompiledFilter; topic: string; count: number }>();
  private nextId = 0;

  add(filter: CompiledFilter): string {
    let g = this.groups.get(filter.key);
    if (!g) {
      g = { filter, topic: `f:${this.nextId++}`, count: 0 };
      this.groups.set(filter.key, g);
    }
    g.count++;
    return g.topic;
  }

  remove(filter: CompiledFilter): void {
    const g = this.groups.get(filter.key);
    if (g && --g.count === 0) this.groups.delete(filter.key);
  }

  /** Topics whose filter matches the signal. */
  *matching(s: Filterable): Generator<string> {
    for (const g of this.groups.values()) if (g.filter.matches(s)) yield g.topic;
  }

  get size(): number {
    return this.groups.size;
  }
}
