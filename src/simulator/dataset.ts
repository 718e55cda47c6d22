import { contentHash } from '../core/canonical-json.ts';
import { ChangeSequence } from './change-sequence.ts';
import { RecordIndex } from './record-index.ts';
import type { RecordKind, RecordState, SimRecord } from './record-kind.ts';
import { SIM_EPOCH_MS } from './record-kind.ts';

/** One hard delete as the tombstone feed lists it. */
export interface Tombstone {
  id: string;
  deletedMs: number;
}

/** One line of the ground truth: every record ever generated, with what a checker must find. */
export interface GroundTruthEntry {
  /** The key as Syncline encodes it: the value for one field, the JSON array of values for several. */
  key: string;
  id: string;
  status: 'live' | 'soft_deleted' | 'hard_deleted';
  /** `contentHash` of the record as served; absent for hard-deleted records. */
  hash?: string;
  version: number;
  updatedAt: string;
}

/**
 * One dataset: a record kind, the states of mutated records, the sorted index and the tombstones.
 * It applies mutation primitives; the `MutationEngine` decides which ones and when.
 */
export class Dataset {
  readonly kind: RecordKind;
  readonly index: RecordIndex;
  /** The changes feed's sequence numbers: every record at the number of its latest change. */
  readonly changes: ChangeSequence;
  private readonly states = new Map<number, RecordState>();
  /** Indexes below this exist (base plus inserts). */
  private count: number;
  private hardCount = 0;
  private readonly tombstones: Tombstone[] = [];
  /** Records that went back a version: the highest version each had, and when it last went back. */
  private readonly rollbacks = new Map<number, { peak: number; atMs: number }>();
  /** Bumped on every change; validators and caches key on it. */
  revision = 0;
  /** When the dataset last changed, epoch ms (initially the newest base `updated_at`). */
  lastModifiedMs: number;
  /** The newest `updated_at` ever served, epoch ms. */
  maxUpdatedMs: number;

  constructor(kind: RecordKind) {
    this.kind = kind;
    this.count = kind.baseCount;
    this.changes = new ChangeSequence(kind.baseCount);
    this.index = new RecordIndex(
      {
        stateOf: (i) => this.stateOf(i),
        idOf: (i) => this.idOf(i),
        idOrderIsIndexOrder: kind.idOrderIsIndexOrder,
      },
      kind.baseCount,
      (i) => kind.baseUpdatedSec(i),
    );
    let newest = SIM_EPOCH_MS;
    for (let i = 0; i < kind.baseCount; i++)
      newest = Math.max(newest, SIM_EPOCH_MS + kind.baseUpdatedSec(i) * 1000);
    this.lastModifiedMs = newest;
    this.maxUpdatedMs = newest;
  }

  get name(): string {
    return this.kind.name;
  }

  /** Number of indexes ever used (base plus inserts, including deleted ones). */
  get totalCreated(): number {
    return this.count;
  }

  /** Records not hard-deleted (live and soft-deleted). */
  get servedCount(): number {
    return this.count - this.hardCount;
  }

  stateOf(index: number): RecordState {
    const state = this.states.get(index);
    if (state !== undefined) return state;
    return {
      version: this.kind.baseVersion(index),
      updatedMs: SIM_EPOCH_MS + this.kind.baseUpdatedSec(index) * 1000,
      status: 'live',
      aux: 0,
    };
  }

  idOf(index: number): string {
    return this.kind.idOf(index, this.stateOf(index));
  }

  record(index: number): SimRecord {
    return this.kind.build(index, this.stateOf(index));
  }

  /** The record as its JSON text, exactly as served in bodies. */
  json(index: number): string {
    return this.kind.serialize(index, this.stateOf(index));
  }

  /** The index of a served record by its `id`, or undefined (also for hard-deleted records). */
  find(id: string): number | undefined {
    const index = this.kind.indexOfId(id, this.count);
    if (index === undefined || this.stateOf(index).status === 'hard') return undefined;
    return index;
  }

  /** Inserts a new record with version 1 (still forming when `open`); returns its index. */
  insert(nowMs: number, draw: number, open = false): number {
    const index = this.count++;
    const aux = this.kind.auxForInsert(index, draw, nowMs);
    const state: RecordState = { version: 1, updatedMs: nowMs, status: 'live', aux };
    if (open) state.open = true;
    this.states.set(index, state);
    this.index.changed(index, undefined);
    this.changes.stamp(index);
    this.touch(nowMs, nowMs);
    return index;
  }

  /**
   * A new version with new content; `updatedMs` is now, or a past time for a backdated update.
   * `open` false makes a forming record final (the live feed closing its candle).
   */
  update(index: number, updatedMs: number, nowMs: number, open?: boolean): void {
    const state = this.own(index);
    const previousMs = state.updatedMs;
    state.version++;
    if (open === true) state.open = true;
    else if (open === false) delete state.open;
    state.updatedMs = updatedMs;
    this.index.changed(index, previousMs);
    this.changes.stamp(index);
    this.touch(nowMs, updatedMs);
  }

  /** Sets `deleted: true` with a new version and `updated_at` = now; the record stays listed. */
  softDelete(index: number, nowMs: number): void {
    const state = this.own(index);
    const previousMs = state.updatedMs;
    state.version++;
    state.updatedMs = nowMs;
    state.status = 'soft';
    this.index.changed(index, previousMs);
    this.changes.stamp(index);
    this.touch(nowMs, nowMs);
  }

  /**
   * A version regression: the record is restored from an older backup. It serves `version` (lower
   * than its current one) with that version's content and `updated_at` = `nowMs`, which the caller
   * makes later than every `updated_at` the record had.
   */
  regress(index: number, version: number, nowMs: number): void {
    const state = this.own(index);
    const previousMs = state.updatedMs;
    const rollback = this.rollbacks.get(index);
    this.rollbacks.set(index, { peak: Math.max(rollback?.peak ?? 0, state.version), atMs: nowMs });
    state.version = version;
    state.updatedMs = nowMs;
    this.index.changed(index, previousMs);
    this.changes.stamp(index);
    this.touch(nowMs, nowMs);
  }

  /**
   * The earliest `updated_at` a backdated update may give the record: its last regression's time
   * while the new version would still be below one it had before that regression, else 0. Behind
   * it, the record would carry a lower version and an older `updated_at` than a state it already
   * served: no reader can tell that from an out-of-order old copy, so no source should produce it.
   */
  backdateFloorMs(index: number): number {
    const rollback = this.rollbacks.get(index);
    return rollback !== undefined && this.stateOf(index).version + 1 < rollback.peak ? rollback.atMs : 0;
  }

  /** Removes the record from every list and adds it to the tombstone feed. */
  hardDelete(index: number, nowMs: number): void {
    const state = this.own(index);
    const previousMs = state.updatedMs;
    state.status = 'hard';
    this.hardCount++;
    // The feed is ordered by (deleted_at, id); deleted_at never goes backwards even if the clock does.
    const last = this.tombstones[this.tombstones.length - 1];
    const tombstone = { id: this.kind.idOf(index, state), deletedMs: Math.max(nowMs, last?.deletedMs ?? 0) };
    let at = this.tombstones.length;
    while (
      at > 0 &&
      this.tombstones[at - 1]!.deletedMs === tombstone.deletedMs &&
      this.tombstones[at - 1]!.id > tombstone.id
    ) {
      at--;
    }
    this.tombstones.splice(at, 0, tombstone);
    this.index.changed(index, previousMs);
    this.changes.stamp(index);
    this.touch(nowMs, 0);
  }

  /**
   * A seeded random served record: `live` only (not soft-deleted) when `liveOnly`, with at least
   * `minVersion`. Returns -1 when none was found in a few tries (e.g. nearly everything deleted).
   */
  pick(draw: () => number, liveOnly: boolean, minVersion = 1): number {
    for (let attempt = 0; attempt < 32; attempt++) {
      const index = Math.floor(draw() * this.count);
      const { status, version } = this.stateOf(index);
      if ((status === 'live' || (status === 'soft' && !liveOnly)) && version >= minVersion) return index;
    }
    return -1;
  }

  /** Tombstones with `(deleted_at, id)` after the given position, in feed order. */
  tombstonesAfter(
    sinceMs: number,
    afterId: string | null,
    limit: number,
  ): { items: Tombstone[]; more: boolean } {
    let lo = 0;
    let hi = this.tombstones.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tombstones[mid]!;
      const before =
        t.deletedMs < sinceMs || (t.deletedMs === sinceMs && afterId !== null && t.id <= afterId);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    const items = this.tombstones.slice(lo, lo + limit);
    const i = lo + items.length;
    return { items, more: i < this.tombstones.length };
  }

  /** Every record ever created, in index order, with its expected state. */
  *groundTruth(): Generator<GroundTruthEntry> {
    for (let index = 0; index < this.count; index++) {
      const state = this.stateOf(index);
      const record = this.kind.build(index, state);
      const entry: GroundTruthEntry = {
        key: encodeKey(record, this.kind.keyFields),
        id: this.kind.idOf(index, state),
        status: state.status === 'live' ? 'live' : state.status === 'soft' ? 'soft_deleted' : 'hard_deleted',
        version: state.version,
        updatedAt: new Date(state.updatedMs).toISOString(),
      };
      if (state.status !== 'hard') entry.hash = contentHash(record);
      yield entry;
    }
  }

  /** The record's own state object, created from its base state on first mutation. */
  private own(index: number): RecordState {
    let state = this.states.get(index);
    if (state === undefined) {
      state = this.stateOf(index);
      this.states.set(index, state);
    }
    return state;
  }

  private touch(nowMs: number, updatedMs: number): void {
    this.revision++;
    this.lastModifiedMs = Math.max(this.lastModifiedMs, nowMs);
    this.maxUpdatedMs = Math.max(this.maxUpdatedMs, updatedMs);
  }
}

/** Syncline's key text: the value of a single key field, else the JSON array of the values. */
export function encodeKey(record: SimRecord, fields: readonly string[]): string {
  if (fields.length === 1) return String(record[fields[0]!]);
  return JSON.stringify(fields.map((field) => record[field]));
}
