import { RecordError } from './errors.ts';
import { readPath } from './field-path.ts';

/**
 * Encodes a record's key as the text stored in `_key`.
 *
 * A single-field key is its value as text (`42`, `cus_9`), so users can query `WHERE _key = '42'`.
 * A composite key is the JSON array of its values (`["BTC","1h",1700000000000]`), which is stable
 * and cannot collide between fields. Numbers keep their JSON form, so `1` and `"1"` only collide for
 * single-field keys, where one stream always has one type.
 *
 * Throws `RecordError` when a key field is missing, null, or not a string, number or bigint.
 */
export function encodeKey(record: unknown, fields: readonly string[]): string {
  if (fields.length === 1) return scalar(record, fields[0]!);
  const parts = fields.map((field) => {
    const value = readPath(record, field);
    if (typeof value === 'string' || typeof value === 'number') return value;
    if (typeof value === 'bigint') return value.toString();
    throw keyError(field, value);
  });
  return JSON.stringify(parts);
}

function scalar(record: unknown, field: string): string {
  const value = readPath(record, field);
  if (typeof value === 'string') {
    if (value.length === 0) throw keyError(field, value);
    return value;
  }
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint')
    return String(value);
  throw keyError(field, value);
}

function keyError(field: string, value: unknown): RecordError {
  const what = value === undefined ? 'is missing' : `is ${value === '' ? 'empty' : JSON.stringify(value)}`;
  return new RecordError(`key field "${field}" ${what}; a key must be a non-empty string or a number`);
}

/** Text form of a version or cursor value, or null when absent. Dates become ISO strings. */
export function scalarText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Orders two version (or cursor) texts: numerically when both are decimal numbers, otherwise by
 * code unit (ISO timestamps sort correctly that way). Returns <0, 0 or >0.
 */
export function compareScalarText(a: string, b: string): number {
  if (NUMERIC.test(a) && NUMERIC.test(b)) {
    const diff = Number(a) - Number(b);
    if (diff !== 0 || (Number.isSafeInteger(Number(a)) && Number.isSafeInteger(Number(b)))) return diff;
    const big = BigInt(a.split('.')[0]!) - BigInt(b.split('.')[0]!);
    return big === 0n ? 0 : big < 0n ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

const NUMERIC = /^-?\d+(\.\d+)?$/;
