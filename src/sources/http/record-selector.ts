import { FatalError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';

/**
 * Finds the records in a response body: at `path` (`data`, `results.items`) when given, else the
 * body itself when it is an array, else its `data` member. A body without an array there is a
 * FatalError (the config does not match the API), not something to retry.
 */
export function selectRecords(body: unknown, path: string | undefined, where: string): unknown[] {
  const found = path ? readPath(body, path) : Array.isArray(body) ? body : readPath(body, 'data');
  if (Array.isArray(found)) return found;
  const shape = Array.isArray(body)
    ? 'an array'
    : body !== null && typeof body === 'object'
      ? `an object with keys ${Object.keys(body).slice(0, 8).join(', ') || '(none)'}`
      : JSON.stringify(body)?.slice(0, 40);
  throw new FatalError(
    `${where}: no array of records at ${path ? `"${path}"` : 'the root or "data"'} (the body is ${shape}); ` +
      'set `records` to the path of the array',
  );
}
