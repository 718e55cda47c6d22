import { z } from 'zod';
import type { ColumnType } from '../core/view-columns.ts';

/** JSON Schema, as much of it as column types are read from. */
interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
}

/** Field names a typed view can name a column after as they are (see `viewColumns`). */
const PLAIN_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The typed view's columns of a stream whose `schema` is a zod object: one per top-level field
 * whose type maps to a column type (string -> text, or timestamp / date for `z.iso.datetime()` /
 * `z.iso.date()`; int -> integer; number -> numeric; boolean; objects and arrays -> json), read
 * from the schema's output as JSON Schema. Fields with other names or types are left out (give
 * `columns` to choose). Null when the schema is not zod's or not an object.
 */
export function columnsFromSchema(schema: unknown): Record<string, ColumnType> | null {
  const vendor = (schema as { '~standard'?: { vendor?: unknown } } | null)?.['~standard']?.vendor;
  if (vendor !== 'zod') return null;
  let json: JsonSchema;
  try {
    json = z.toJSONSchema(schema as z.ZodType, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return null; // a zod of another major, or a schema JSON Schema cannot describe
  }
  if (!json.properties) return null;
  const columns: Record<string, ColumnType> = {};
  for (const [field, property] of Object.entries(json.properties)) {
    const type = columnType(property);
    if (type !== null && PLAIN_FIELD.test(field) && !field.startsWith('_')) columns[field] = type;
  }
  return Object.keys(columns).length > 0 ? columns : null;
}

function columnType(schema: JsonSchema): ColumnType | null {
  const alternatives = (schema.anyOf ?? schema.oneOf)?.filter((s) => s.type !== 'null');
  if (alternatives) return alternatives.length === 1 ? columnType(alternatives[0]!) : null;
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => t !== 'null');
  const type = types.length === 1 ? types[0] : undefined;
  if (type === undefined && (schema.enum || typeof schema.const === 'string')) {
    return [...(schema.enum ?? [schema.const])].every((v) => typeof v === 'string') ? 'text' : null;
  }
  switch (type) {
    case 'string':
      return schema.format === 'date-time' ? 'timestamp' : schema.format === 'date' ? 'date' : 'text';
    case 'integer':
      return 'integer';
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'array':
      return 'json';
    default:
      return null;
  }
}
