import { RecordError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import { encodeKey } from '../../core/key-codec.ts';

/** What one broker message is to the stream: a record, nothing (skipped), or a reject with its reason. */
export type ReadMessage =
  | { readonly kind: 'record'; readonly record: Record<string, unknown> }
  | { readonly kind: 'skip'; readonly why: string }
  | {
      readonly kind: 'reject';
      readonly reason: string;
      /** A record whose key fields could not be read: it is the dead letter's payload, for a replay. */
      readonly record?: Record<string, unknown>;
    };

export interface MessageContext {
  readonly format: 'debezium' | 'json';
  readonly keyFields: readonly string[];
  /** `format: json`: the record's path in a message; null: the message itself. */
  readonly recordPath: string | null;
  /** Where the message is, for reasons: `nats DBZ seq 42 (dbz.public.customers)`. */
  readonly where: string;
  /**
   * The broker position as a fixed-width decimal (see `positionDigits`): the tie-breaker of a
   * Debezium version made from `ts_ms`.
   */
  readonly positionDigits: string;
}

/** Debezium operations applied as records: create, update, snapshot read. */
const UPSERT_OPS = new Set(['c', 'u', 'r']);

/** Digits a broker position takes in a `ts_ms` version: a NATS sequence or a Redis id's two parts. */
export const POSITION_DIGITS = 30;

/**
 * One message as the stream reads it. `null` or an empty body (a Kafka-style tombstone, which
 * Debezium sends after a delete) is skipped. Debezium (`format: debezium`): the event may be
 * wrapped (`{ schema, payload }`); `op` c, u and r give `after`, d gives `before` marked deleted;
 * any other op (t for truncate, m for a logical message) is rejected: a truncate is not applied as
 * deletes. The record carries `__op`, `__ts_ms`, `__version` (`source.lsn` when it is a number,
 * PostgreSQL's; else `ts_ms` followed by the broker position) and `__deleted`.
 */
export function readMessage(body: string | null, context: MessageContext): ReadMessage {
  if (body === null || body.trim() === '' || body.trim() === 'null') {
    return { kind: 'skip', why: 'empty message (a tombstone)' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return {
      kind: 'reject',
      reason: `${context.where}: the message is not JSON (${(error as Error).message})`,
    };
  }
  return context.format === 'debezium' ? fromDebezium(parsed, context) : fromJson(parsed, context);
}

function fromJson(parsed: unknown, context: MessageContext): ReadMessage {
  const record = context.recordPath === null ? parsed : readPath(parsed, context.recordPath);
  if (!isObject(record)) {
    const at = context.recordPath === null ? 'the message' : `${context.recordPath} of the message`;
    return { kind: 'reject', reason: `${context.where}: ${at} is ${describe(record)}, not a JSON object` };
  }
  return keyed(record, context);
}

function fromDebezium(parsed: unknown, context: MessageContext): ReadMessage {
  let event = parsed;
  if (isObject(event) && 'payload' in event && 'schema' in event) {
    event = event.payload;
    if (event === null) return { kind: 'skip', why: 'empty payload (a tombstone)' };
  }
  if (!isObject(event) || typeof event.op !== 'string') {
    return {
      kind: 'reject',
      reason: `${context.where}: not a Debezium change event (no op); set format: json for plain events`,
    };
  }
  const op = event.op;
  const isDelete = op === 'd';
  if (!isDelete && !UPSERT_OPS.has(op)) {
    const what = op === 't' ? 'a truncate (op t), which is not applied as deletes' : `op "${op}"`;
    return { kind: 'reject', reason: `${context.where}: ${what}; only c, u, r and d change records` };
  }
  const image = imageOf(isDelete ? event.before : event.after);
  if (image === null) {
    return {
      kind: 'reject',
      reason: isDelete
        ? `${context.where}: a delete (op d) without before: the key of the deleted row is unknown`
        : `${context.where}: op ${op} without after`,
    };
  }
  const source = isObject(event.source) ? event.source : {};
  const ts = integerOf(source.ts_ms) ?? integerOf(event.ts_ms);
  const lsn = integerOf(source.lsn);
  if (lsn === null && ts === null) {
    return {
      kind: 'reject',
      reason: `${context.where}: the event has neither source.lsn nor ts_ms to order it by`,
    };
  }
  const version = lsn !== null ? lsn : `${ts}${context.positionDigits}`;
  return keyed(
    { ...image, __op: op, __ts_ms: ts === null ? null : Number(ts), __version: version, __deleted: isDelete },
    context,
  );
}

/** The record if its key fields can be read; a reject naming where the message is otherwise. */
function keyed(record: Record<string, unknown>, context: MessageContext): ReadMessage {
  try {
    encodeKey(record, context.keyFields);
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    return { kind: 'reject', reason: `${context.where}: ${error.message}`, record };
  }
  return { kind: 'record', record };
}

/** A row image: an object, or JSON text of one (MongoDB's connector sends `after` as a string). */
function imageOf(value: unknown): Record<string, unknown> | null {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return isObject(value) ? value : null;
}

/** A non-negative integer (a number or a decimal string) as decimal text, or null. */
function integerOf(value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return value.replace(/^0+(?=\d)/, '');
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
