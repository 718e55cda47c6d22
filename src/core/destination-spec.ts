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

/**
 * The requests of an HTTP destination. Paths and query values are templates: `{externalId}` (the
 * object's id in the destination), `{key}` (the record's key), `{stream}`, and any other name a
 * path of the record (`{email}`, `{address.city}`), each URL-encoded.
 */
export interface DestinationOperations {
  /**
   * Makes an object; its id is read from the answer at `idPath` (default `id`). Method default POST.
   * Needed unless `batch` writes every record.
   */
  readonly create?: { readonly method?: 'POST' | 'PUT'; readonly path: string; readonly idPath?: string };
  /** Changes the object by `{externalId}`. Method default PATCH. Needed unless mode is create-only. */
  readonly update?: { readonly method?: 'PATCH' | 'PUT' | 'POST'; readonly path: string };
  /**
   * Looks a record's object up before a create (a lost map, a create that timed out after the
   * destination wrote it): a GET whose answer holds the id at `idPath` (`results.0.id`); absent,
   * null or a 404 means there is none.
   */
  readonly find?: {
    readonly path: string;
    readonly query?: Readonly<Record<string, string>>;
    readonly idPath: string;
  };
  /** Removes the object by `{externalId}` (mode mirror; a 404 counts as removed). Method DELETE. */
  readonly delete?: { readonly path: string };
  /**
   * A bulk upsert endpoint: records are POSTed `maxSize` at a time as `{ <itemsField>: [payload,
   * ...] }`, and the answer's array at `resultsPath` holds one entry per payload, in order: an id at
   * `idPath`, or a refusal at `errorPath`. The API must upsert by a natural key in the payload (an
   * `external_id` field), so a retried request makes nothing twice. Used for every created or
   * changed record; deletes still go one by one through `delete`.
   */
  readonly batch?: DestinationBatch;
}

export interface DestinationBatch {
  readonly path: string;
  /** Records per request. Default 100. */
  readonly maxSize?: number;
  /** The request's array field. Default `inputs`. */
  readonly itemsField?: string;
  /** Where the answer's array is. Default `results`. */
  readonly resultsPath?: string;
  /** An entry's id. Default `id`. */
  readonly idPath?: string;
  /** An entry's refusal (present: the record was refused). Default `error`. */
  readonly errorPath?: string;
}
