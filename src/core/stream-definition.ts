import type { StandardSchemaV1 } from './standard-schema.ts';
import type { StreamSource } from './types.ts';

/** A field of R, or a dotted path into it (`address.city`). */
export type FieldPath<R> = (Extract<keyof R, string> & string) | `${string}.${string}`;

/**
 * One stream: where its records come from and how to recognise them.
 *
 * Without `schema`, records are taken as the source yields them (they must be objects). With one,
 * each record is validated and the schema's output is what is stored; a record that fails is
 * dead-lettered with the reason, and the run goes on.
 */
export interface StreamDefinition<R extends object = Record<string, unknown>> {
  /** Also the table's name: lower-case letters, digits and `_`. */
  readonly name: string;
  /** The field, or fields, that identify a record. Composite keys are encoded as a JSON array. */
  readonly key: FieldPath<R> | readonly FieldPath<R>[];
  /** The field that orders the stream for incremental reads (e.g. `updated_at`); used for lag. */
  readonly cursor?: FieldPath<R>;
  /** The field whose higher value means a newer state of the record. Without it the hash decides. */
  readonly version?: FieldPath<R>;
  /** A field that, when truthy, marks the record deleted at the source (a tombstone). */
  readonly deleted?: FieldPath<R>;
  readonly schema?: StandardSchemaV1<unknown, R>;
  readonly source: StreamSource<unknown>;
}

/**
 * Declares a stream with full types: field names are checked against the schema's output (or the
 * source's record type when there is no schema).
 *
 * ```ts
 * defineStream({
 *   name: 'customers',
 *   key: 'id',
 *   cursor: 'updated_at',
 *   schema: z.object({ id: z.number(), updated_at: z.string() }),
 *   async *source({ checkpoint }) { yield { records: [...], checkpoint: { after: 42 } }; },
 * });
 * ```
 */
export function defineStream<R extends object>(
  definition: Omit<StreamDefinition<R>, 'schema' | 'source'> & {
    schema: StandardSchemaV1<unknown, R>;
    source: StreamSource<unknown>;
  },
): StreamDefinition<R>;
export function defineStream<R extends object>(
  definition: Omit<StreamDefinition<R>, 'schema' | 'source'> & {
    schema?: undefined;
    source: StreamSource<R>;
  },
): StreamDefinition<R>;
export function defineStream<R extends object>(definition: StreamDefinition<R>): StreamDefinition<R> {
  return definition;
}

/** The key fields of a stream as a list. */
export function keyFields(stream: Pick<StreamDefinition, 'key'>): readonly string[] {
  return typeof stream.key === 'string' ? [stream.key] : (stream.key as readonly string[]);
}

/** A stream of any record type, for code that handles every stream alike (engine, runtime). */
// biome-ignore lint/suspicious/noExplicitAny: erases the record type; field names were checked at definition.
export type AnyStreamDefinition = StreamDefinition<any>;
