/**
 * Lag of a stream: now minus its newest cursor value, in ms, when that value reads as a time (an
 * ISO date, or epoch seconds / milliseconds by magnitude). Null when it does not (e.g. an opaque
 * sequence number), or when nothing was synced yet.
 */
export function lagMs(newestCursor: string | null, now = Date.now()): number | null {
  if (newestCursor === null) return null;
  let at: number;
  if (/^\d+(\.\d+)?$/.test(newestCursor)) {
    const n = Number(newestCursor);
    if (n >= 1e11 && n < 1e14) at = n;
    else if (n >= 1e8 && n < 1e11) at = n * 1000;
    else return null;
  } else {
    at = Date.parse(newestCursor);
    if (Number.isNaN(at)) return null;
  }
  return Math.max(0, now - at);
}
