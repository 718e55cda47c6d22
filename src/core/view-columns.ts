import { canonicalJson, hashText } from './canonical-json.ts';
import { ConfigError } from './errors.ts';

/**
 * The types a column of a stream's typed view (`<stream>_v`) may have. Each store maps them to its
 * own: `text`; `integer` (a whole number, or a string of one); `numeric` (a number, or a string of
 * one: amounts often arrive as "12.50"); `boolean`; `timestamp` (an ISO-8601 date-time string);
 * `date` (`YYYY-MM-DD`); `json` (any value, as JSON).
 */
export const COLUMN_TYPES = ['text', 'integer', 'numeric', 'boolean', 'timestamp', 'date', 'json'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** One column of a typed view: its name, the record field it reads, its type. */
export interface ViewColumn {
  /** The field path with `.` as `_`, lower-case: `address.city` -> `address_city`. */
  readonly name: string;
  /** The field's path in the record, split on `.`. */
  readonly path: readonly string[];
  readonly type: ColumnType;
}

/** Columns every typed view has besides the fields'. */
const SYSTEM_NAMES = new Set(['_key', '_synced_at', '_deleted_at']);

const COLUMN_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * A stream's `columns` (field path -> type) as view columns, in the order given. Throws
 * `ConfigError` naming the stream and the field when a name is not a plain identifier, two fields
 * map to one name, or a name is one of the view's own (`_key`, `_synced_at`, `_deleted_at`).
 */
export function viewColumns(stream: string, columns: Readonly<Record<string, ColumnType>>): ViewColumn[] {
  const seen = new Map<string, string>();
  return Object.entries(columns).map(([field, type]) => {
    const name = field.replaceAll('.', '_').toLowerCase();
    const where = `stream "${stream}": columns: "${field}"`;
    if (!COLUMN_NAME.test(name)) {
      throw new ConfigError(
        `${where}: becomes column "${name}", which is not a plain name (letters, digits, "_"; "." becomes "_")`,
      );
    }
    if (SYSTEM_NAMES.has(name)) throw new ConfigError(`${where}: "${name}" is a column the view has already`);
    const other = seen.get(name);
    if (other !== undefined) throw new ConfigError(`${where}: becomes column "${name}", as "${other}" does`);
    seen.set(name, field);
    if (!(COLUMN_TYPES as readonly string[]).includes(type)) {
      throw new ConfigError(
        `${where}: type must be one of ${COLUMN_TYPES.join(', ')}, got "${String(type)}"`,
      );
    }
    return { name, path: field.split('.'), type };
  });
}

/** Identifies a view's columns: a store keeps it with the view and recreates the view when it changes. */
export function viewFingerprint(columns: readonly ViewColumn[]): string {
  return hashText(canonicalJson(columns.map((c) => [c.name, c.path, c.type]))).slice(0, 16);
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** ISO-8601 date-times as both stores' casts read them: a date, `T` or a space, a time, an optional zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;

/**
 * Why `value` cannot be column `type`, or null when it can (null and a missing field always can:
 * the column is NULL). The engine dead-letters a record whose field fails, so a typed view's cast
 * never fails on a row.
 */
export function columnProblem(type: ColumnType, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'text':
      return typeof value === 'object'
        ? `expected text, got ${Array.isArray(value) ? 'an array' : 'an object'}`
        : null;
    case 'integer':
      return (typeof value === 'number' && Number.isSafeInteger(value)) ||
        (typeof value === 'string' && INTEGER.test(value))
        ? null
        : `expected a whole number, got ${shown(value)}`;
    case 'numeric':
      return (typeof value === 'number' && Number.isFinite(value)) ||
        (typeof value === 'string' && DECIMAL.test(value))
        ? null
        : `expected a number, got ${shown(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? null : `expected true or false, got ${shown(value)}`;
    case 'timestamp':
      return typeof value === 'string' && DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : `expected an ISO-8601 date-time, got ${shown(value)}`;
    case 'date':
      return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : `expected a date (YYYY-MM-DD), got ${shown(value)}`;
    case 'json':
      return null;
  }
}

function shown(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'object'
        ? 'an object'
        : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
