/** Number and name formatting shared by RESULTS.md and the chart. */

/** `1234567.8` -> `1,234,568`. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Records per second; 0 for an empty interval. */
export const rate = (records: number, ms: number): number => (ms > 0 ? (records / ms) * 1000 : 0);

/** `1000000` -> `1M`, `100000` -> `100k`, for short labels. */
export function shortCount(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1000 && n % 1000 === 0) return `${n / 1000}k`;
  return int(n);
}

export const storeName = (store: 'sqlite' | 'postgres'): string =>
  store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
