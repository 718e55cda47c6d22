/**
 * Reads a dotted path (`address.city`, `items.0.id`) from a record. A path that does not exist
 * gives `undefined`; a literal key containing dots is tried first, so `{ "a.b": 1 }` works too.
 */
export function readPath(record: unknown, path: string): unknown {
  if (record === null || typeof record !== 'object') return undefined;
  const direct = (record as Record<string, unknown>)[path];
  if (direct !== undefined || !path.includes('.')) return direct;
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
