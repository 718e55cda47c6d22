import type { PushReceiver } from './push.ts';
import type { ScheduleSettings } from './schedule.ts';
import type { StreamSource } from './source.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';
import type { Checkpoint } from './types.ts';
import type { ColumnType } from './view-columns.ts';

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
  /**
   * Reads the records whose keys a refresh asks for (`syncline refresh`; `args.request` is
   * `{ mode: 'refresh', keys }`), one page or more: each record found, and a tombstone
   * (`deletedAt: null`) for each key the source says is gone (an HTTP 404/410 on fetch-by-id). Its
   * pages carry `args.checkpoint` unchanged. Optional: a stream without it cannot be refreshed by key.
   */
  readonly fetchByKey?: StreamSource<unknown>;
  /**
   * A push source's receiving side (a webhook stream): given the secret reader, the receiver that
   * checks each request before `syncline run` writes it into the inbox; the stream's `source` then
   * applies what the inbox holds (`SourceArgs.inbox`). Absent for pulled streams.
   */
  readonly receive?: (secret: (name: string) => string) => PushReceiver;
  /**
   * A source that reads a replication slot of its own (a `cdc` stream): the slot's state, for
   * `syncline status`, the API and metrics, and dropping it (`syncline cdc drop-slot`, `syncline
   * reset`). Absent for every other source.
   */
  readonly capture?: CaptureControl;
  /**
   * Which fields the content hash covers. `exclude` drops noise fields (`fetched_at`, a request id)
   * so they cause no writes; `include` hashes only the fields named. Default: the whole record.
   * The stored `_data` is always the whole record.
   */
  readonly hash?: { readonly include?: readonly string[]; readonly exclude?: readonly string[] };
  /**
   * A record whose version is lower than the stored one although its cursor moved forward is a
   * version regression (the source rolled the record back), not an out-of-order copy (those are
   * skipped as `stale`). `'deadLetter'` (default) keeps it out with its reason; `'accept'` applies it.
   */
  readonly onVersionRegression?: 'deadLetter' | 'accept';
  /** Keep every version of every record in `<name>_history`, for audit. Default false. */
  readonly history?: boolean;
  /**
   * A typed view `<name>_v` of the live rows: one column per field path given here (`.` becomes
   * `_` in the column's name), of that type, plus `_key`, `_synced_at` and `_deleted_at`. A record
   * whose field does not fit its type is dead-lettered, so the view's casts never fail. Default:
   * derived from a zod `schema`'s top-level fields; no view without either.
   */
  readonly columns?: Readonly<Record<string, ColumnType>>;
  /** The backfill breaker: see `BackfillSettings`. Default `'pause'` with its defaults. */
  readonly backfill?: 'pause' | 'auto' | BackfillSettings;
  /** Reconciliation (full scans that find deletes and drift). */
  readonly reconcile?: ReconcileSettings;
  /**
   * When `syncline run` syncs the stream (see `ScheduleSettings`). Default: the config's
   * `service.schedule`; without either, the stream runs only when triggered.
   */
  readonly schedule?: ScheduleSettings;
  /**
   * How the source reads, as `syncline check` shows it. `http.stream` sets it; a custom source may
   * (by default it is shown as `custom`, its paging and incremental reads being its own code).
   */
  readonly sourceInfo?: SourceInfo;
  /**
   * For a source whose syncs cannot see deletes but can tell when some may have happened (a file
   * stream whose files lost a row or a whole file): given the stream's main checkpoint after a
   * sync, since when (an ISO time) a reconciliation is owed, or null. After a sync that ended `ok`,
   * the runtime reconciles the stream when its last completed reconciliation started before then.
   */
  readonly reconcileOwed?: (checkpoint: Checkpoint) => string | null;
}

/** What the operator can ask of a replication slot a stream reads (see `StreamDefinition.capture`). */
export interface CaptureControl {
  /** The slot's name; streams with the same one share it. */
  readonly slot: string;
  /** Its state on the source database; throws when the database cannot be reached. */
  status(secret: (name: string) => string): Promise<CaptureStatus>;
  /**
   * Drops the slot, so the source stops keeping WAL for it; the next run reads the tables again in
   * a new snapshot. False when there was no slot; throws when a process is reading it.
   */
  drop(secret: (name: string) => string): Promise<boolean>;
}

export interface CaptureStatus {
  readonly slot: string;
  readonly exists: boolean;
  /** A process is reading it now. */
  readonly active: boolean;
  /** Bytes of WAL the slot keeps on the source (from its confirmed position to the WAL's end). */
  readonly lagBytes: number | null;
  readonly confirmedLsn: string | null;
  /** The lag past which it warns (`cdc.maxSlotLag`). */
  readonly maxLagBytes: number;
  /** One line when the lag is past `maxLagBytes`, else null. */
  readonly warning: string | null;
}

/** What a stream's source declares about itself, for people and for `syncline check`. */
export interface SourceInfo {
  /** The kind of source: `http`, or a custom source's own word. */
  readonly kind: string;
  /** What it reads, without credentials: e.g. `GET https://api.example.com/v1/customers`. */
  readonly reads?: string;
  /** How pages follow each other: e.g. `cursor (next_cursor), 100 a page`. */
  readonly pagination?: string;
  /** How a run starts after the last one: e.g. `updated_since, lookback 1h`; absent: every run reads everything. */
  readonly incremental?: string;
  /** Environment variables the source reads secrets from; `syncline check` says which are unset. */
  readonly secrets?: readonly string[];
}

/**
 * The backfill circuit breaker stops a run before committing a page when its changes look like a
 * mass retroactive change, so an operator can look first (`syncline approve <stream>`).
 */
export interface BackfillSettings {
  /** `pause` (default): stop the run, status `paused_backfill`. `auto`: apply, but record the evidence. */
  readonly mode?: 'pause' | 'auto';
  /**
   * A change to a record whose cursor is older than the stream's newest cursor by more than this
   * trips the breaker (a duration: `30d`, `12h`). Default `30d`. Needs a `cursor` field.
   */
  readonly maxAge?: string | number;
  /**
   * A run whose changes exceed this many times the stream's baseline (the median changes of its
   * last 10 successful runs, at least `minBaseline`) trips the breaker. Default 10.
   */
  readonly volumeFactor?: number;
  /** The smallest baseline, so a quiet stream can still take a normal burst. Default 1000 changes. */
  readonly minBaseline?: number;
}

export interface ReconcileSettings {
  /**
   * A completed scan that would delete more than this share of the stream's live records pauses
   * for `syncline approve` instead (`paused_backfill`). Default 0.1 (10%).
   */
  readonly maxDeleteShare?: number;
  /** `syncline sync` also reconciles the stream when its last completed reconciliation is older than this (`1d`). Default: never. */
  readonly fullRefresh?: string | number;
  /**
   * When `syncline run` reconciles the stream, on a schedule of its own (`{ cron: '0 3 * * 0' }`).
   * A reconciliation due with a sync runs instead of it (its full scan covers what the sync reads).
   * Default: none (`fullRefresh` still applies after syncs).
   */
  readonly schedule?: ScheduleSettings;
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
