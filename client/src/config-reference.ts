import type { z } from 'zod';

/**
 * The config reference (docs/client.md) generated from ConfigSchema: one row per leaf key with its type, default
 * and description. A discriminated union (exchange, by venue) contributes the keys of every option once.
 */

interface Row {
  path: string;
  type: string;
  def: string;
  description: string;
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; def: unknown; hasDefault: boolean } {
  let s: z.ZodType = schema;
  let def: unknown;
  let hasDefault = false;
  for (;;) {
    const d = (
      s as unknown as { _zod: { def: { type: string; innerType?: z.ZodType; defaultValue?: unknown } } }
    )._zod.def;
    if (d.type === 'default' || d.type === 'prefault') {
      if (!hasDefault && d.type === 'default') {
        def = d.defaultValue;
        hasDefault = true;
      }
      s = d.innerType!;
    } else if (d.type === 'optional' || d.type === 'nullable' || d.type === 'pipe') {
      s = d.innerType ?? (d as unknown as { in: z.ZodType }).in;
    } else return { inner: s, def, hasDefault };
  }
}

function typeName(s: z.ZodType): string {
  const d = (
    s as unknown as {
      _zod: { def: { type: string; entries?: Record<string, string>; element?: z.ZodType; format?: string } };
    }
  )._zod.def;
  if (d.type === 'enum')
    return Object.values(d.entries ?? {})
      .map((v) => `\`${v}\``)
      .join(' \\| ');
  if (d.type === 'literal')
    return ((d as unknown as { values: unknown[] }).values ?? [])
      .map((v) => `\`${String(v)}\``)
      .join(' \\| ');
  if (d.type === 'array') return `list of ${typeName(unwrap(d.element!).inner)}`;
  if (d.type === 'record') return 'map';
  if (d.type === 'string' && d.format === 'url') return 'URL';
  return d.type === 'int' || d.format === 'safeint' ? 'integer' : d.type;
}

function collect(schema: z.ZodType, prefix: string, rows: Row[]): void {
  const { inner } = unwrap(schema);
  const options = (inner as unknown as { _zod: { def: { type: string; options?: z.ZodType[] } } })._zod.def;
  if (options.type === 'union' && options.options) {
    for (const o of options.options) {
      const sub: Row[] = [];
      collect(o, prefix, sub);
      for (const r of sub) {
        const seen = rows.find((x) => x.path === r.path);
        if (!seen) rows.push(r);
        else if (seen.type !== r.type) seen.type = `${seen.type} \\| ${r.type}`;
      }
    }
    return;
  }
  const shape = (inner as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return;
  for (const [key, field] of Object.entries(shape)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const u = unwrap(field);
    // A list of objects (notify targets): one row per field of its element, as `key[].field`.
    const el = (u.inner as unknown as { _zod: { def: { type: string; element?: z.ZodType } } })._zod.def;
    if (el.type === 'array' && (unwrap(el.element!).inner as unknown as { shape?: unknown }).shape) {
      rows.push({
        path,
        type: 'list of object',
        def: u.hasDefault ? '`' + JSON.stringify(u.def) + '`' : '-',
        description: field.description ?? u.inner.description ?? '',
      });
      collect(el.element!, `${path}[]`, rows);
      continue;
    }
    const nestedShape = (u.inner as unknown as { shape?: unknown }).shape;
    const isUnion = (u.inner as unknown as { _zod: { def: { type: string } } })._zod.def.type === 'union';
    if (nestedShape || isUnion) {
      collect(field, path, rows);
      continue;
    }
    rows.push({
      path,
      type: typeName(u.inner),
      def: u.hasDefault ? '`' + JSON.stringify(u.def) + '`' : '-',
      description: field.description ?? u.inner.description ?? '',
    });
  }
}

/** The reference of a config schema as a Markdown table. */
export function renderReference(schema: z.ZodType): string {
  const rows: Row[] = [];
  collect(schema, '', rows);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.path}\` | ${r.type} | ${esc(r.def)} | ${esc(r.description)} |`),
  ].join('\n');
}
