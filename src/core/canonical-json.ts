import { hash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `-0` written as `0`, non-finite
 * numbers and `undefined` members dropped as `JSON.stringify` does, `Date` as its ISO string,
 * `bigint` as a decimal string. Two records with the same content give the same text whatever their
 * key order, so the text's hash is a content hash.
 *
 * It runs once per record on the hot path, so it builds one string by concatenation (V8 ropes)
 * rather than an array of pieces, and remembers each object shape it meets (its keys in
 * `Object.keys` order): the records of a stream share a few shapes, so their keys are sorted and
 * quoted once, not once per record (1.1-1.35 us a customer record instead of 2.1).
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

/**
 * An object shape: its keys in `Object.keys` order, the same keys sorted by code unit, and what to
 * write before each sorted key's value (`{"a":`, then `,"b":`...).
 */
interface Shape {
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  readonly prefixes: readonly string[];
}

/**
 * Shapes met so far, by their first key, a few per first key. Bounded like `quotedKeys`: objects
 * keyed by ids (each a new shape) stop being remembered and take the uncached path.
 */
const shapes = new Map<string, Shape[]>();
const SHAPES_MAX = 1_000;
const SHAPES_PER_FIRST_KEY = 8;

/** The remembered shape with exactly these keys in this order, or undefined. */
function knownShape(keys: readonly string[]): Shape | undefined {
  const candidates = shapes.get(keys[0]!);
  if (candidates === undefined) return undefined;
  next: for (const shape of candidates) {
    if (shape.keys.length !== keys.length) continue;
    // Key names are internalized strings: equal ones compare by identity.
    for (let i = 1; i < keys.length; i++) if (shape.keys[i] !== keys[i]) continue next;
    return shape;
  }
  return undefined;
}

function sortKeys(keys: string[]): string[] {
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) return keys.sort();
  }
  return keys;
}

/** Remembers the shape of `keys` if there is room, else returns undefined. */
function rememberShape(keys: string[]): Shape | undefined {
  const candidates = shapes.get(keys[0]!);
  if (candidates === undefined ? shapes.size >= SHAPES_MAX : candidates.length >= SHAPES_PER_FIRST_KEY) {
    return undefined;
  }
  const sorted = sortKeys(keys.slice());
  const shape: Shape = {
    keys,
    sorted,
    prefixes: sorted.map((key, i) => `${i === 0 ? '{' : ','}${quoteKey(key)}:`),
  };
  if (candidates === undefined) shapes.set(keys[0]!, [shape]);
  else candidates.push(shape);
  return shape;
}

/** Members JSON leaves out of objects. */
function isOmitted(member: unknown): boolean {
  return member === undefined || typeof member === 'function' || typeof member === 'symbol';
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
  if (keys.length === 0) return '{}';
  const shape = knownShape(keys) ?? rememberShape(keys);
  if (shape === undefined) return writeMembers(obj, sortKeys(keys));
  const { sorted, prefixes } = shape;
  let out = '';
  for (let i = 0; i < sorted.length; i++) {
    const member = obj[sorted[i]!];
    // A member JSON leaves out shifts the commas: write this object the general way.
    if (isOmitted(member)) return writeMembers(obj, sorted);
    out += prefixes[i]! + write(member);
  }
  return `${out}}`;
}

/** An object's members in the order of `sortedKeys`, leaving out what JSON leaves out. */
function writeMembers(obj: Record<string, unknown>, sortedKeys: readonly string[]): string {
  let out = '{';
  let first = true;
  for (const key of sortedKeys) {
    const member = obj[key];
    if (isOmitted(member)) continue;
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
