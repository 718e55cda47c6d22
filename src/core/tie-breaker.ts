import { FatalError } from './errors.ts';
import { compareScalarText } from './key-codec.ts';

/**
 * How a source orders tie-breaker values (an HTTP stream's `incremental.tieBreakerType`): `'number'`
 * numerically (9 before 10), `'string'` as text by code unit ("10" before "9"). Unset: numerically
 * when both values are decimal numbers, as text otherwise, which is how versions compare too.
 */
export type TieBreakerType = 'number' | 'string';

const DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Orders two tie-breaker values (ids, as text) the way the source is said to sort them: <0, 0 or
 * >0. The watermark moves by it (`compareWatermarks`), and the HTTP keyset paginator checks the
 * API's order and drops records already handed over with it, so all of them agree on which record
 * came last.
 */
export function compareTieBreaker(a: string, b: string, type?: TieBreakerType): number {
  if (type === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (type === 'number') {
    const odd = !DECIMAL.test(a) ? a : !DECIMAL.test(b) ? b : null;
    if (odd !== null) {
      throw new FatalError(
        `tieBreakerType is 'number', but the tie-breaker value ${JSON.stringify(odd)} is not a decimal ` +
          "number; set tieBreakerType: 'string' (an HTTP stream's incremental.tieBreakerType) if the source " +
          'orders its ids as text',
      );
    }
  }
  return compareScalarText(a, b);
}

/** How `compareTieBreaker` compared `a` and `b`, for messages: `as numbers` or `as text`. */
export function tieBreakerOrder(a: string, b: string, type?: TieBreakerType): string {
  if (type === 'string') return 'as text';
  return type === 'number' || (DECIMAL.test(a) && DECIMAL.test(b)) ? 'as numbers' : 'as text';
}
