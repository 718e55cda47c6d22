import { canonicalJson, hashText } from '../../core/canonical-json.ts';
import type { FieldSource, MapContext, RecordMapSpec } from '../../core/destination-spec.ts';
import { ConfigError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import type { Json } from '../../core/types.ts';

export type { FieldSource, MapContext, RecordMapSpec };

/** A compiled mapping: the payload to send for a record. */
export type RecordMap = (record: Json, context: MapContext) => Promise<Json>;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Checks `spec` once (a ConfigError naming `where` and the field for anything malformed) and
 * returns the function that maps records. Field order follows the spec, so equal records give
 * byte-equal payloads; a payload's `contentHash` is what the external-ID map remembers, so an
 * unchanged mapping sends nothing.
 */
export function compileRecordMap(spec: RecordMapSpec, where: string): RecordMap {
  if (typeof spec === 'function') {
    return async (record, context) => {
      const payload = await spec(record, context);
      if (payload === undefined) {
        throw new ConfigError(
          `${where}: map returned nothing for key "${context.key}"; return the payload object`,
        );
      }
      return payload;
    };
  }
  const fields = Object.entries(spec).map(([name, source]) => compileField(name, source, where));
  if (fields.length === 0) throw new ConfigError(`${where}: map: must name at least one field`);
  return async (record) => {
    const out: { [key: string]: Json } = {};
    for (const { name, read } of fields) {
      const value = read(record);
      if (value !== undefined) setPath(out, name, value);
    }
    return out;
  };
}

function compileField(
  name: string,
  source: FieldSource,
  where: string,
): { name: string; read: (record: Json) => Json | undefined } {
  const at = `${where}: map.${name}`;
  if (name.trim() === '' || name.split('.').some((part) => part === '')) {
    throw new ConfigError(`${where}: map: "${name}" is not a field name (empty part)`);
  }
  if (typeof source === 'string') return { name, read: pathReader(source, at) };
  if (source === null || typeof source !== 'object' || Array.isArray(source)) {
    throw new ConfigError(`${at}: must be a path, { path }, { const } or { template }`);
  }
  const keys = Object.keys(source);
  if (keys.length !== 1) {
    throw new ConfigError(
      `${at}: give exactly one of path, const or template, got ${keys.join(', ') || 'none'}`,
    );
  }
  if ('path' in source) return { name, read: pathReader(source.path, at) };
  if ('const' in source) {
    const value = source.const;
    return { name, read: () => value };
  }
  if ('template' in source) {
    if (typeof source.template !== 'string') throw new ConfigError(`${at}.template: must be text`);
    const fill = compileTemplate(source.template, at);
    return { name, read: (record) => fill((path) => readPath(record, path)) };
  }
  throw new ConfigError(`${at}: unknown source "${keys[0]}"; use path, const or template`);
}

function pathReader(path: unknown, at: string): (record: Json) => Json | undefined {
  if (typeof path !== 'string' || path.trim() === '')
    throw new ConfigError(`${at}: the path must be non-empty text`);
  return (record) => readPath(record, path) as Json | undefined;
}

/**
 * A text template with `{name}` placeholders, checked once: returns a function that fills each
 * placeholder with `lookup(name)` (undefined or null: empty text; objects as JSON), through
 * `encode` (e.g. `encodeURIComponent` for URL paths).
 */
export function compileTemplate(
  template: string,
  at: string,
  encode: (text: string) => string = (text) => text,
): (lookup: (name: string) => unknown) => string {
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (name === undefined || name.trim() === '')
      throw new ConfigError(`${at}: "${template}" has an empty {} placeholder`);
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) {
    throw new ConfigError(`${at}: "${template}" has an unbalanced { or }`);
  }
  return (lookup) =>
    template.replace(PLACEHOLDER, (_, name: string) => {
      const value = lookup(name.trim());
      if (value === undefined || value === null) return '';
      return encode(typeof value === 'object' ? JSON.stringify(value) : String(value));
    });
}

/** Sets a dotted `name` in `out`, making the objects on the way. */
function setPath(out: { [key: string]: Json }, name: string, value: Json): void {
  const parts = name.split('.');
  let at = out;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) at[part] = {};
    at = at[part] as { [key: string]: Json };
  }
  at[parts.at(-1)!] = value;
}

/**
 * The idempotency key of a create: the same for every retry of the same write (destination,
 * stream, key and the record's version, or its hash when it has none), different for a later
 * version, so a create that timed out after the destination wrote it is not written twice.
 */
export function idempotencyKey(args: {
  readonly destination: string;
  readonly stream: string;
  readonly key: string;
  readonly version: string | null;
  readonly hash: string;
}): string {
  const of = args.version === null ? ['hash', args.hash] : ['version', args.version];
  return `syncline-${hashText(canonicalJson([args.destination, args.stream, args.key, ...of]))}`;
}
