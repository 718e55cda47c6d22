import { canonicalJson, hashText } from '../core/canonical-json.ts';
import { compareCursorText } from '../core/cursor-time.ts';
import { describeError, RecordError } from '../core/errors.ts';
import { omitPaths, pickPaths, readPath } from '../core/field-path.ts';
import { encodeKey, scalarText } from '../core/key-codec.ts';
import type { Page } from '../core/source.ts';
import { describeIssues } from '../core/standard-schema.ts';
import { type AnyStreamDefinition, keyFields } from '../core/stream-definition.ts';
import type { Checkpoint, DeadLetter, RecordWrite } from '../core/types.ts';
import { columnProblem, type ViewColumn, viewColumns } from '../core/view-columns.ts';

/** A record ready to classify: validated, keyed and hashed; a write once the classifier adds what it does. */
export type PreparedRecord = Omit<RecordWrite, 'kind' | 'existed'>;

/** A tombstone with its key encoded. */
export interface PreparedTombstone {
  readonly key: string;
  readonly deletedAt: string | null;
}

/** A page after preparation: the records that passed, the ones that did not, and the checkpoint. */
export interface PreparedPage {
  readonly records: PreparedRecord[];
  /** The page's tombstones whose key could be read, applied after its records. */
  readonly tombstones: PreparedTombstone[];
  readonly deadLetters: DeadLetter[];
  readonly fetched: number;
  readonly checkpoint: Checkpoint;
  /** The largest cursor value in the page, by `compareCursorText` (as times when they are times). */
  readonly newestCursor: string | null;
  /** Records with no cursor value, on a stream that has a cursor field. */
  readonly withoutCursor: number;
  /** A replay's letters whose records passed preparation, with the key each had now. */
  readonly replayed: readonly { readonly id: number; readonly key: string }[];
}

/** For a replay: the stored dead letter each record and tombstone of a page was read from. */
export interface ReplayOrigins {
  readonly records: readonly number[];
  readonly tombstones: readonly number[];
}

/**
 * Several consecutive prepared pages as one, to commit in one transaction: the records, tombstones
 * and dead letters in order, the last page's checkpoint, the newest cursor of all. Tombstones
 * apply after all the records, so a caller must not merge a page with tombstones and a later page
 * with records (see `canFollow`).
 */
export function mergePages(pages: readonly PreparedPage[]): PreparedPage {
  if (pages.length === 1) return pages[0]!;
  let newestCursor: string | null = null;
  let fetched = 0;
  let withoutCursor = 0;
  for (const page of pages) {
    fetched += page.fetched;
    withoutCursor += page.withoutCursor;
    if (
      page.newestCursor !== null &&
      (newestCursor === null || compareCursorText(page.newestCursor, newestCursor) > 0)
    )
      newestCursor = page.newestCursor;
  }
  return {
    records: pages.flatMap((p) => p.records),
    tombstones: pages.flatMap((p) => p.tombstones),
    deadLetters: pages.flatMap((p) => p.deadLetters),
    fetched,
    checkpoint: pages.at(-1)!.checkpoint,
    newestCursor,
    withoutCursor,
    replayed: pages.flatMap((p) => p.replayed),
  };
}

/** Whether `next` may be merged after `batch` without changing what applying them in order does. */
export function canFollow(batch: readonly PreparedPage[], next: PreparedPage): boolean {
  return next.records.length === 0 || batch.every((p) => p.tombstones.length === 0);
}

/** Fewest records a page must have for `sharedFailure` to judge it: one bad record is just bad. */
const SHARED_FAILURE_MIN_RECORDS = 2;

/**
 * When every record of a page of at least two failed preparation, most of them for one reason (a
 * wrong `key`, a schema that does not fit the source; a few may fail on something else too): that
 * reason and how many records it stopped. A fault of the config rather than of the records. Null
 * otherwise.
 */
export function sharedFailure(page: PreparedPage): { reason: string; count: number } | null {
  if (page.fetched < SHARED_FAILURE_MIN_RECORDS || page.records.length > 0) return null;
  const letters = page.deadLetters.filter((l) => !l.tombstone);
  if (letters.length !== page.fetched) return null;
  const counts = new Map<string, number>();
  for (const letter of letters) counts.set(letter.reason, (counts.get(letter.reason) ?? 0) + 1);
  const [reason, count] = [...counts].reduce((a, b) => (b[1] > a[1] ? b : a));
  return count * 2 > letters.length ? { reason, count } : null;
}

/**
 * Turns a source's page into prepared records: validate (schema), extract the key, compute the
 * canonical JSON and its hash. Runs ahead of the commit (it is the CPU part of the pipeline), so it
 * touches no store. A record that fails any step becomes a dead letter; it never stops the page.
 */
export class PagePreparer {
  readonly #stream: AnyStreamDefinition;
  readonly #keys: readonly string[];
  readonly #rejectNul: boolean;
  /** What the hash covers, when `stream.hash` narrows it. */
  readonly #hashProjection: ((value: unknown) => unknown) | null;

  /** The typed view's columns (and their field paths), whose fields must fit their types. */
  readonly #columns: readonly (ViewColumn & { readonly field: string })[];

  /** `rejectNul`: dead-letter records containing NUL, for stores that cannot keep it. */
  constructor(stream: AnyStreamDefinition, rejectNul = false) {
    this.#stream = stream;
    this.#columns = (stream.columns ? viewColumns(stream.name, stream.columns) : []).map((c) => ({
      ...c,
      field: c.path.join('.'),
    }));
    this.#keys = keyFields(stream);
    this.#rejectNul = rejectNul;
    const { include, exclude } = stream.hash ?? {};
    this.#hashProjection = include
      ? (value) => omitPaths(pickPaths(value, include), exclude ?? [])
      : exclude
        ? (value) => omitPaths(value, exclude)
        : null;
  }

  /** `origins`: the page is a replay's, read from those dead letters. */
  async prepare(page: Page<unknown>, origins?: ReplayOrigins): Promise<PreparedPage> {
    const records: PreparedRecord[] = [];
    const deadLetters: DeadLetter[] = [];
    const replayed: { id: number; key: string }[] = [];
    let newestCursor: string | null = null;
    let withoutCursor = 0;
    const schema = this.#stream.schema?.['~standard'];
    for (let i = 0; i < page.records.length; i++) {
      const raw = page.records[i];
      let prepared: PreparedRecord | DeadLetter;
      try {
        if (schema) {
          let result = schema.validate(raw);
          if (result instanceof Promise) result = await result;
          prepared = result.issues
            ? this.#deadLetter(raw, describeIssues(result.issues))
            : this.#prepareValue(raw, result.value);
        } else {
          prepared = this.#prepareValue(raw, raw);
        }
      } catch (error) {
        // A schema, transform or key that throws RecordError (from any copy of the package) names
        // one bad record: it is dead-lettered like a validation failure. Anything else stops the run.
        if (!(error instanceof RecordError)) throw error;
        prepared = this.#deadLetter(raw, describeError(error));
      }
      const origin = origins?.records[i];
      if (!('hash' in prepared)) {
        deadLetters.push(origin === undefined ? prepared : { ...prepared, replayOf: origin });
        continue;
      }
      if (origin !== undefined) replayed.push({ id: origin, key: prepared.key });
      const cursor = prepared.cursor;
      if (cursor === null && this.#stream.cursor) withoutCursor++;
      if (cursor !== null && (newestCursor === null || compareCursorText(cursor, newestCursor) > 0))
        newestCursor = cursor;
      records.push(prepared);
    }
    for (const reject of page.rejects ?? []) {
      deadLetters.push({ ...this.#deadLetter(reject.payload, reject.reason), key: null });
    }
    const tombstones: PreparedTombstone[] = [];
    const pageTombstones = page.tombstones ?? [];
    for (let i = 0; i < pageTombstones.length; i++) {
      const tombstone = pageTombstones[i]!;
      const origin = origins?.tombstones[i];
      try {
        const key = encodeKey(tombstone.key, this.#keys);
        tombstones.push({ key, deletedAt: tombstone.deletedAt });
        if (origin !== undefined) replayed.push({ id: origin, key });
      } catch (error) {
        if (!(error instanceof RecordError)) throw error;
        deadLetters.push({
          key: null,
          reason: `tombstone: ${error.message}`,
          payload: safeJson(tombstone),
          tombstone: true,
          ...(origin !== undefined ? { replayOf: origin } : {}),
        });
      }
    }
    return {
      records,
      tombstones,
      deadLetters,
      fetched: page.records.length + (page.rejects?.length ?? 0),
      checkpoint: page.checkpoint,
      newestCursor,
      withoutCursor,
      replayed,
    };
  }

  /**
   * One record (`value`: what the schema made of `raw`) keyed and hashed, or the dead letter saying
   * why it cannot be. Throws the `RecordError` of a key it cannot read.
   */
  #prepareValue(raw: unknown, value: unknown): PreparedRecord | DeadLetter {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.#deadLetter(
        raw,
        `record is ${Array.isArray(value) ? 'an array' : typeof value}, not an object`,
      );
    }
    for (const column of this.#columns) {
      const problem = columnProblem(column.type, readPath(value, column.field));
      if (problem !== null) {
        return this.#deadLetter(raw, `${column.field}: ${problem} (column ${column.name}, ${column.type})`);
      }
    }
    const key = encodeKey(value, this.#keys);
    const data = canonicalJson(value);
    const hashed = this.#hashProjection ? canonicalJson(this.#hashProjection(value)) : data;
    if (this.#rejectNul && ESCAPED_NUL.test(data)) {
      return this.#deadLetter(raw, 'record contains a NUL character (\\u0000), which this store cannot keep');
    }
    return {
      key,
      data,
      hash: hashText(hashed),
      version: this.#stream.version ? scalarText(readPath(value, this.#stream.version)) : null,
      cursor: this.#stream.cursor ? scalarText(readPath(value, this.#stream.cursor)) : null,
      deleted: this.#stream.deleted ? Boolean(readPath(value, this.#stream.deleted)) : false,
    };
  }

  #deadLetter(raw: unknown, reason: string): DeadLetter {
    let key: string | null = null;
    try {
      key = encodeKey(raw, this.#keys);
    } catch {
      key = null;
    }
    return { key, reason, payload: safeJson(raw) };
  }
}

/** `\u0000` in JSON text, not preceded by an escaped backslash (`\\u0000` is a literal backslash). */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

function safeJson(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch (error) {
    return `unserialisable record: ${describeError(error)}`;
  }
}
