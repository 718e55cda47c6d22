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

/** A copy of `record` with only the dotted `paths` (absent ones stay absent). */
export function pickPaths(record: unknown, paths: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const value = readPath(record, path);
    if (value === undefined) continue;
    const parts = path.split('.');
    let at = out;
    for (const part of parts.slice(0, -1)) {
      if (at[part] === null || typeof at[part] !== 'object') at[part] = {};
      at = at[part] as Record<string, unknown>;
    }
    at[parts.at(-1)!] = value;
  }
  return out;
}

/** A copy of `record` without the dotted `paths` (copies only the objects on those paths). */
export function omitPaths(record: unknown, paths: readonly string[]): unknown {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return record;
  const out: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const path of paths) {
    const parts = path.split('.');
    let at: Record<string, unknown> | null = out;
    for (const part of parts.slice(0, -1)) {
      const next: unknown = at?.[part];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        at = null;
        break;
      }
      at[part] = { ...(next as Record<string, unknown>) };
      at = at[part] as Record<string, unknown>;
    }
    if (at) delete at[parts.at(-1)!];
  }
  return out;
}
