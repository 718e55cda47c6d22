import { SimulatorRequestError } from './simulator-errors.ts';

/**
 * Parses a time parameter: an ISO 8601 date-time, or digits as epoch milliseconds (13+ digits)
 * or epoch seconds (fewer digits). Returns epoch ms, or `fallback` when absent.
 */
export function parseTime(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (/^\d+$/.test(raw)) return raw.length >= 12 ? Number(raw) : Number(raw) * 1000;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) {
    throw new SimulatorRequestError(`${name}=${raw} is not an ISO 8601 date-time or an epoch number`);
  }
  return ms;
}

/** A non-negative integer parameter, or `fallback` when absent. */
export function parseCount(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new SimulatorRequestError(`${name}=${raw} is not a non-negative integer`);
  return Number(raw);
}

/** The page size from the first present parameter of `names`, clamped to [1, max] as real APIs do. */
export function parseLimit(
  query: URLSearchParams,
  names: readonly string[],
  fallback: number,
  max: number,
): number {
  for (const name of names) {
    if (query.has(name)) return Math.min(max, Math.max(1, parseCount(query, name, fallback)));
  }
  return Math.min(max, fallback);
}

/** One of the allowed values, or `fallback` when absent. */
export function parseChoice<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SimulatorRequestError(`${name}=${raw} is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

/** The opaque position of the cursor and Link styles: the last `(updated_at ms, id)` handed out. */
export interface CursorToken {
  dataset: string;
  /** Null: before the first record. */
  ms: number | null;
  id: string;
  /** Filter parameters the listing started with (candles: symbol, interval). */
  filters: Record<string, string>;
}

export function encodeCursor(token: CursorToken): string {
  return Buffer.from(JSON.stringify([token.dataset, token.ms, token.id, token.filters])).toString(
    'base64url',
  );
}

export function decodeCursor(raw: string, dataset: string): CursorToken {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 4 && value[0] === dataset) {
      const [, ms, id, filters] = value as [string, unknown, unknown, unknown];
      if (
        (ms === null || typeof ms === 'number') &&
        typeof id === 'string' &&
        typeof filters === 'object' &&
        filters
      ) {
        return { dataset, ms, id, filters: filters as Record<string, string> };
      }
    }
  } catch {
    // Falls through to the error below: a garbled token is the client's error, not ours.
  }
  throw new SimulatorRequestError(`cursor is not a valid ${dataset} cursor; start again without it`);
}
