import type { Json } from './types.ts';

/**
 * Where one field of a destination's payload comes from:
 * - `'email'` or `{ path: 'address.city' }`: that (dotted) path of the record; a path the record
 *   lacks leaves the field out;
 * - `{ const: 'syncline' }`: always that value;
 * - `{ template: '{first_name} {last_name}' }`: text with `{path}` placeholders filled from the
 *   record (a missing one becomes empty text).
 */
export type FieldSource =
  | string
  | { readonly path: string }
  | { readonly const: Json }
  | { readonly template: string };

/** What a mapping knows of the change besides the record. */
export interface MapContext {
  readonly stream: string;
  readonly key: string;
}

/**
 * A destination's mapping: per destination field (dotted names build nested objects), where its
 * value comes from; or, in a TypeScript config, a function from the record to the payload.
 */
export type RecordMapSpec =
  | Readonly<Record<string, FieldSource>>
  | ((record: Json, context: MapContext) => Json | Promise<Json>);
