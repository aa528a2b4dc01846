import { canonicalJson, effectiveAction, type Filters, type SignalAction } from '@catalyst-signal/shared';

/**
 * The fields a filter looks at; both a stored row (FilterableRow) and a parsed signal have them. A row's
 * `action` is already the effective one; a signal's may be absent (v1), hence effectiveAction on both.
 */
export interface Filterable {
  symbol: string;
  catalyst: string;
  /** '' in a stored row of a signal without direction. */
  direction?: string | undefined;
  confidence: number;
  action?: SignalAction | undefined;
  asset_class?: string | null | undefined;
  sentiment?: number | null | undefined;
  keywords?: readonly string[] | null | undefined;
}

export interface CompiledFilter {
  /** Canonical text of the filter: subscribers with equal filters share one uWS topic. */
  key: string;
  matches(s: Filterable): boolean;
}

const sortedSet = <T extends string>(xs: readonly T[] | undefined, norm: (x: T) => T = (x) => x) =>
  xs && [...new Set(xs.map(norm))].sort();

/**
 * Normalise (upper-case symbols, lower-case keywords, sort, dedupe) so equal filters get equal keys. Pure.
 * A signal passes when it passes every filter given; one without the field a filter looks at does not.
 */
export function compileFilter(f: Filters): CompiledFilter | undefined {
  const norm = {
    symbols: sortedSet(f.symbols, (s) => s.toUpperCase()),
    catalysts: sortedSet(f.catalysts),
    directions: sortedSet(f.directions),
    min_confidence: f.min_confidence,
    actions: sortedSet(f.actions),
    asset_classes: sortedSet(f.asset_classes),
    keywords: sortedSet(f.keywords, (k) => k.toLowerCase()),
    min_sentiment: f.min_sentiment,
  };
  if (Object.values(norm).every((v) => v === undefined)) return undefined;
  const symbols = norm.symbols && new Set(norm.symbols);
  const catalysts = norm.catalysts && new Set(norm.catalysts);
  const directions = norm.directions && new Set<string>(norm.directions);
  const min = norm.min_confidence ?? 0;
  const actions = norm.actions && new Set<string>(norm.actions);
  const assetClasses = norm.asset_classes && new Set<string>(norm.asset_classes);
  const keywords = norm.keywords && new Set(norm.keywords);
  const minSentiment = norm.min_sentiment;
  return {
    key: canonicalJson(norm),
    matches: (s) =>
      s.confidence >= min &&
      (!symbols || symbols.has(s.symbol)) &&
      (!catalysts || catalysts.has(s.catalyst)) &&
      (!directions || directions.has(s.direction ?? '')) &&
      (!actions || actions.has(effectiveAction(s))) &&
      (!assetClasses || assetClasses.has(s.asset_class ?? '')) &&
      (minSentiment === undefined || (s.sentiment != null && s.sentiment >= minSentiment)) &&
      (!keywords || (s.keywords?.some((k) => keywords.has(k)) ?? false)),
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
