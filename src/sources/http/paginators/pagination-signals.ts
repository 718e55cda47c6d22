import { FatalError } from '../../../core/errors.ts';
import { readPath } from '../../../core/field-path.ts';
import type { Json } from '../../../core/types.ts';
import type { PaginatorOptions } from './create-paginator.ts';

/**
 * Small readers shared by the strategies: what a response says about the next page, and the
 * checks on positions read back from a checkpoint.
 */

/** The page-size parameter, when the stream sends one, asking for `limit` records. */
export function sizeQuery(options: PaginatorOptions, limit = options.pageSize): Record<string, string> {
  return options.pageSizeParam === null ? {} : { [options.pageSizeParam]: String(limit) };
}

/**
 * The body's has-more flag: true or false, or undefined when no path is configured or the body
 * does not say (then the short-page rule decides). `"false"` as text counts as false.
 */
export function readHasMore(body: unknown, path: string | undefined): boolean | undefined {
  if (path === undefined) return undefined;
  const value = readPath(body, path);
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return undefined;
}

/** A number in the body (`total_pages`), or undefined when absent or not a finite number. */
export function readNumber(body: unknown, path: string | undefined): number | undefined {
  if (path === undefined) return undefined;
  const value = readPath(body, path);
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** A record field as text (numbers written with `String`), or null when absent or not a scalar. */
export function readText(record: unknown, path: string | null): string | null {
  if (path === null) return null;
  const value = readPath(record, path);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return null;
}

/**
 * Whether a page ends the pass: an explicit has-more flag decides when the API gives one;
 * otherwise a page shorter than the limit asked for is the last.
 */
export function isLastPage(hasMore: boolean | undefined, received: number, limit: number): boolean {
  if (received === 0) return true;
  if (hasMore !== undefined) return !hasMore;
  return received < limit;
}

/** The members of a stored position, or a FatalError saying it belongs to another strategy. */
export function positionObject(strategy: string, position: Json): Record<string, Json> {
  if (position === null || typeof position !== 'object' || Array.isArray(position)) {
    throw badPosition(strategy, position);
  }
  return position;
}

/** The error for a checkpoint that this strategy did not write (e.g. the config changed). */
export function badPosition(strategy: string, position: Json): FatalError {
  return new FatalError(
    `${strategy} pagination cannot resume at ${JSON.stringify(position)}: the checkpoint was not written ` +
      'by this strategy (did the pagination config change?); run `syncline reset` on the stream to start over',
  );
}

/** A non-negative integer member of a position, or a FatalError. */
export function positionCount(strategy: string, position: Record<string, Json>, name: string): number {
  const value = position[name];
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw badPosition(strategy, position);
}

/** A text member of a position, or a FatalError; `nullable` allows null. */
export function positionText(strategy: string, position: Record<string, Json>, name: string): string;
export function positionText(
  strategy: string,
  position: Record<string, Json>,
  name: string,
  nullable: true,
): string | null;
export function positionText(
  strategy: string,
  position: Record<string, Json>,
  name: string,
  nullable = false,
): string | null {
  const value = position[name];
  if (typeof value === 'string') return value;
  if (value === null && nullable) return null;
  throw badPosition(strategy, position);
}
