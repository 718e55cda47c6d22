import { compareCursorText } from '../core/cursor-time.ts';
import { compareScalarText } from '../core/key-codec.ts';
import type { DeadLetter, RecordWrite, RunCounters, StoredRecordState } from '../core/types.ts';
import type { PreparedRecord, PreparedTombstone } from './page-preparer.ts';

export interface ClassifyOptions {
  /** See `StreamDefinition.onVersionRegression`. Default `'deadLetter'`. */
  readonly onVersionRegression?: 'deadLetter' | 'accept';
  /**
   * When given, receives the keys the page applied without fault: written, or unchanged (the store
   * already has them right). Their open dead letters can be resolved. Default: not collected.
   */
  readonly settled?: string[];
}

/** The outcome of classifying one page. */
export interface Classification {
  /** At most one write per key, in first-seen order. */
  readonly writes: RecordWrite[];
  readonly counters: Pick<
    RunCounters,
    'inserted' | 'updated' | 'unchanged' | 'stale' | 'deleted' | 'flagged' | 'regressed' | 'failed'
  >;
  /** Version regressions kept out (with `onVersionRegression: 'deadLetter'`). */
  readonly deadLetters: DeadLetter[];
  /** Tombstoned keys the store never had (counted `unchanged`): a refresh found them nowhere. */
  readonly absent: string[];
}

/**
 * Decides what each record does to the store (ARCHITECTURE "Classify"):
 * key absent -> insert; present: higher version -> update; equal version and equal hash ->
 * unchanged; equal version, different hash -> update, flagged; lower version -> stale (an
 * out-of-order copy, skipped), unless its cursor moved forward: then the source rolled the record
 * back, a regression, dead-lettered or applied as configured. Without a version on either side the
 * hash decides. A tombstone deletes a live row (unless it is older), a live record restores a
 * soft-deleted one.
 *
 * A key seen twice in one page is classified against its own earlier state in the page, so the
 * later occurrence wins by the same rules and the store gets one write for it.
 *
 * Tombstones come after the records: one deletes a live row whose cursor is not newer than the
 * delete (a newer copy means the record came back: counted `stale`), keeping its last data; a key
 * absent or already deleted is left alone (counted `unchanged`).
 */
export function classify(
  records: readonly PreparedRecord[],
  stored: ReadonlyMap<string, StoredRecordState>,
  options: ClassifyOptions = {},
  tombstones: readonly PreparedTombstone[] = [],
): Classification {
  const counters = {
    inserted: 0,
    updated: 0,
    unchanged: 0,
    stale: 0,
    deleted: 0,
    flagged: 0,
    regressed: 0,
    failed: 0,
  };
  // One write per key; a key's write is also its state after the records of this page seen so far.
  const writes = new Map<string, RecordWrite>();
  const deadLetters: DeadLetter[] = [];
  const absent: string[] = [];
  const settled = options.settled;
  for (const record of records) {
    const earlier = writes.get(record.key);
    const before: StoredRecordState | undefined = earlier ?? stored.get(record.key);
    let outcome = decide(record, before);
    if (outcome === 'regressed') {
      if (options.onVersionRegression !== 'accept') {
        counters.failed++;
        deadLetters.push({
          key: record.key,
          reason:
            `version went back from ${before!.version} to ${record.version} although the cursor moved forward ` +
            `(${before!.cursor} -> ${record.cursor}): the source rolled the record back; set ` +
            "onVersionRegression: 'accept' to apply such changes",
          payload: record.data,
        });
        continue;
      }
      counters.regressed++;
      outcome = record.deleted ? 'delete' : 'update';
    }
    if (outcome === 'flagged') {
      counters.flagged++;
      outcome = 'update';
    }
    if (outcome === 'unchanged' || outcome === 'stale') {
      counters[outcome]++;
      if (outcome === 'unchanged') settled?.push(record.key);
      continue;
    }
    settled?.push(record.key);
    counters[outcome === 'insert' ? 'inserted' : outcome === 'delete' ? 'deleted' : 'updated']++;
    // Existence is what the store has, not what this page did: an insert followed by an update of
    // the same key in one page is still one insert.
    const existed = earlier ? earlier.existed : before !== undefined;
    const kind = earlier && !earlier.existed && outcome !== 'delete' ? 'insert' : outcome;
    // Spelled out rather than spread: one object of a fixed shape per write, on the hot path.
    writes.set(record.key, {
      kind,
      existed,
      key: record.key,
      data: record.data,
      hash: record.hash,
      version: record.version,
      cursor: record.cursor,
      deleted: record.deleted,
    });
  }
  for (const tombstone of tombstones) {
    const earlier = writes.get(tombstone.key);
    const before: StoredRecordState | undefined = earlier ?? stored.get(tombstone.key);
    if (!before || before.deleted) {
      counters.unchanged++;
      if (!before) absent.push(tombstone.key);
      settled?.push(tombstone.key);
      continue;
    }
    if (
      tombstone.deletedAt !== null &&
      before.cursor != null &&
      compareCursorText(before.cursor, tombstone.deletedAt) > 0
    ) {
      counters.stale++;
      continue;
    }
    counters.deleted++;
    settled?.push(tombstone.key);
    // A record of this page then its tombstone: one write, the record's data marked deleted.
    writes.set(
      tombstone.key,
      earlier
        ? { ...earlier, kind: 'delete', deleted: true }
        : {
            kind: 'delete',
            existed: true,
            keepData: true,
            key: tombstone.key,
            data: '',
            hash: before.hash,
            version: before.version,
            cursor: before.cursor ?? null,
            deleted: true,
          },
    );
  }
  return { writes: [...writes.values()], counters, deadLetters, absent };
}

type Outcome = 'insert' | 'update' | 'delete' | 'unchanged' | 'stale' | 'flagged' | 'regressed';

function decide(record: PreparedRecord, before: StoredRecordState | undefined): Outcome {
  if (!before) return record.deleted ? 'delete' : 'insert';
  if (record.version !== null && before.version !== null) {
    const order = compareScalarText(record.version, before.version);
    if (order < 0) {
      const movedForward =
        record.cursor != null && before.cursor != null && compareCursorText(record.cursor, before.cursor) > 0;
      return movedForward ? 'regressed' : 'stale';
    }
    if (order > 0) return record.deleted ? (before.deleted ? 'unchanged' : 'delete') : 'update';
    // Equal versions: the same state, unless the content differs (flag it: the source changed a
    // record without moving its version).
    if (record.hash !== before.hash && record.deleted === before.deleted) return 'flagged';
  }
  if (record.deleted) return before.deleted ? 'unchanged' : 'delete';
  if (before.deleted) return 'update';
  return record.hash === before.hash ? 'unchanged' : 'update';
}
