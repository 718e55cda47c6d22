import { z } from 'zod';
import { unknownNameHint } from './closest-name.ts';

/**
 * A zod object that accepts only the keys it names. A typo in a config (`stor:` for `store:`)
 * would otherwise be dropped in silence and its default used instead; this refuses it, and
 * `firstIssue` reports it as `stor: unknown key; did you mean "store"?`.
 *
 * Every object schema of a config (top level, `sync`, streams, `request`, `pagination`, `auth`...)
 * is built with it. The valid keys are read from the schema that raised the issue, so a schema
 * made by `.extend()` suggests its added keys too.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.strictObject(shape, { error: unknownKeyMessage });
}

/** One issue of a failed parse, its path leading to the offending value or key. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * The issue worth reporting of a failed parse: an unknown key if there is one (a misspelt
 * required key also makes that key "missing", and the typo explains both), else the first. An
 * unknown key's path ends at the key.
 */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): SchemaIssue {
  const unknown = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknown) return { path: [...unknown.path, unknown.keys[0]!], message: unknown.message };
  const issue = issues[0]!;
  return { path: issue.path, message: issue.message };
}

/** `unknown key; did you mean "store"?` for the first unknown key of an object (firstIssue adds the key). */
function unknownKeyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'unrecognized_keys') return undefined;
  const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
  const known = shape ? Object.keys(shape) : [];
  return `unknown key; ${unknownNameHint(String(issue.keys[0]), known)}`;
}
