import { type RecordState, SIM_EPOCH_MS } from './record-kind.ts';

/** Base keys pack `(updated second, index)` into one exact double: `second * 2^23 + index`. */
const SHIFT = 2 ** 23;
/** The largest base dataset the packed keys allow (indexes below 2^23). */
export const MAX_BASE_COUNT = SHIFT - 1;

/** What the index needs to know about records it does not own. */
export interface IndexHost {
  /** The current state of a record (base or overridden). */
  stateOf(index: number): RecordState;
  idOf(index: number): string;
  /** True when id order equals index order (ties then compare as numbers). */
  readonly idOrderIsIndexOrder: boolean;
}

/** A read position in the merged order: the next base slot and the next overlay slot to look at. */
export interface IndexCursor {
  bp: number;
  oj: number;
}

/**
 * All served records (live and soft-deleted) in `(updated_at, id)` order, without holding records.
 *
 * - The base: every generated record, sorted once at start into a `Float64Array` of packed keys
 *   (8 bytes per record; base `updated_at` has whole seconds). A base entry is skipped once its
 *   record was mutated (`baseRemoved`), because the record then lives in the overlay.
 * - The overlay: mutated and inserted records as sorted parallel arrays of `(updated_at ms, index)`.
 *   Mutations only append to `pending` and mark it dirty; the next read merges it in one pass
 *   (sort the pending entries, drop stale ones, merge), so a burst of thousands costs one merge.
 * - A Fenwick tree over base slots, built on the first offset query, ranks live base entries so
 *   `page`/`offset` reads find their k-th record in O(log² n) rather than walking.
 */
export class RecordIndex {
  private readonly host: IndexHost;
  private readonly baseSec: (index: number) => number;
  private readonly baseKeys: Float64Array;
  /** By index: 1 when the base entry no longer describes the record. */
  private readonly baseRemoved: Uint8Array;
  private removedCount = 0;
  private ovMs: number[] = [];
  private ovIx: number[] = [];
  /** Flattened `(ms, index)` pairs appended since the last merge. */
  private pending: number[] = [];
  private dirty = false;
  private fenwick: Int32Array | null = null;

  constructor(host: IndexHost, baseCount: number, baseSec: (index: number) => number) {
    this.host = host;
    this.baseSec = baseSec;
    this.baseKeys = new Float64Array(baseCount);
    for (let i = 0; i < baseCount; i++) this.baseKeys[i] = baseSec(i) * SHIFT + i;
    this.baseKeys.sort();
    this.baseRemoved = new Uint8Array(baseCount);
  }

  get baseCount(): number {
    return this.baseKeys.length;
  }

  /** True while the record is still described by its base entry (never mutated). */
  isBase(index: number): boolean {
    return index < this.baseKeys.length && this.baseRemoved[index] === 0;
  }

  /**
   * Records that a record changed. `previousMs` is its `updated_at` before the change (undefined for
   * an insert); call after the host's state holds the new values.
   */
  changed(index: number, previousMs: number | undefined): void {
    const wasBase = this.isBase(index);
    if (wasBase) this.removeBase(index);
    const state = this.host.stateOf(index);
    this.dirty = true;
    if (state.status === 'hard') return;
    if (wasBase || previousMs === undefined || previousMs !== state.updatedMs) {
      this.pending.push(state.updatedMs, index);
    }
  }

  /** Number of served records (live and soft-deleted). */
  size(): number {
    this.flush();
    return this.baseKeys.length - this.removedCount + this.ovMs.length;
  }

  /**
   * The position of the first record after `(ms, id)`. With `id` null: the first record with
   * `updated_at >= ms` (`inclusive`) or `> ms`.
   */
  seek(ms: number, id: string | null, inclusive = true): IndexCursor {
    this.flush();
    const before = (entryMs: number, entryIndex: number): boolean => {
      if (entryMs !== ms) return entryMs < ms;
      if (id === null) return !inclusive;
      return this.host.idOf(entryIndex) <= id;
    };
    let lo = 0;
    let hi = this.baseKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.baseMsAt(mid), this.baseIndexAt(mid))) lo = mid + 1;
      else hi = mid;
    }
    const bp = lo;
    lo = 0;
    hi = this.ovMs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.ovMs[mid]!, this.ovIx[mid]!)) lo = mid + 1;
      else hi = mid;
    }
    return { bp, oj: lo };
  }

  /** The position of the k-th (0-based) served record; past the end when k >= size(). */
  select(k: number): IndexCursor {
    this.flush();
    const tree = this.ensureFenwick();
    const rankOfOverlay = (j: number): number => j + this.prefix(tree, this.baseLowerBound(j));
    // j = number of overlay entries ranked at or before k.
    let lo = 0;
    let hi = this.ovMs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rankOfOverlay(mid) <= k) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && rankOfOverlay(lo - 1) === k) return { bp: this.baseLowerBound(lo - 1), oj: lo - 1 };
    return { bp: this.selectBase(tree, k - lo), oj: lo };
  }

  /** The index of the record at `cursor`, advancing it; -1 at the end. Call only right after seek/select. */
  next(cursor: IndexCursor): number {
    const keys = this.baseKeys;
    while (cursor.bp < keys.length && this.baseRemoved[this.baseIndexAt(cursor.bp)] === 1) cursor.bp++;
    const hasBase = cursor.bp < keys.length;
    const hasOverlay = cursor.oj < this.ovMs.length;
    if (!hasBase && !hasOverlay) return -1;
    if (hasBase && hasOverlay) {
      const bi = this.baseIndexAt(cursor.bp);
      const oi = this.ovIx[cursor.oj]!;
      if (this.compare(this.baseMsAt(cursor.bp), bi, this.ovMs[cursor.oj]!, oi) < 0) {
        cursor.bp++;
        return bi;
      }
      cursor.oj++;
      return oi;
    }
    if (hasBase) return this.baseIndexAt(cursor.bp++);
    return this.ovIx[cursor.oj++]!;
  }

  private baseMsAt(position: number): number {
    return SIM_EPOCH_MS + Math.floor(this.baseKeys[position]! / SHIFT) * 1000;
  }

  private baseIndexAt(position: number): number {
    const key = this.baseKeys[position]!;
    return key - Math.floor(key / SHIFT) * SHIFT;
  }

  private compare(msA: number, a: number, msB: number, b: number): number {
    if (msA !== msB) return msA - msB;
    if (this.host.idOrderIsIndexOrder) return a - b;
    const idA = this.host.idOf(a);
    const idB = this.host.idOf(b);
    return idA < idB ? -1 : idA > idB ? 1 : a - b;
  }

  private isCurrent(ms: number, index: number): boolean {
    const state = this.host.stateOf(index);
    return state.status !== 'hard' && state.updatedMs === ms;
  }

  /** Merges pending entries into the overlay and drops stale ones. */
  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const fresh: [number, number][] = [];
    for (let i = 0; i < this.pending.length; i += 2) {
      const ms = this.pending[i]!;
      const index = this.pending[i + 1]!;
      if (this.isCurrent(ms, index)) fresh.push([ms, index]);
    }
    this.pending = [];
    fresh.sort((x, y) => this.compare(x[0], x[1], y[0], y[1]));
    const ms: number[] = [];
    const ix: number[] = [];
    const push = (m: number, i: number): void => {
      const last = ms.length - 1;
      if (last >= 0 && ms[last] === m && ix[last] === i) return;
      ms.push(m);
      ix.push(i);
    };
    let a = 0;
    let b = 0;
    while (a < this.ovMs.length || b < fresh.length) {
      const takeOld =
        b >= fresh.length ||
        (a < this.ovMs.length && this.compare(this.ovMs[a]!, this.ovIx[a]!, fresh[b]![0], fresh[b]![1]) <= 0);
      if (takeOld) {
        if (this.isCurrent(this.ovMs[a]!, this.ovIx[a]!)) push(this.ovMs[a]!, this.ovIx[a]!);
        a++;
      } else {
        push(fresh[b]![0], fresh[b]![1]);
        b++;
      }
    }
    this.ovMs = ms;
    this.ovIx = ix;
  }

  private removeBase(index: number): void {
    this.baseRemoved[index] = 1;
    this.removedCount++;
    if (this.fenwick === null) return;
    const key = this.baseSec(index) * SHIFT + index;
    let lo = 0;
    let hi = this.baseKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.baseKeys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo + 1; i < this.fenwick.length; i += i & -i) this.fenwick[i]!--;
  }

  /** The first base slot ordered after overlay entry j. */
  private baseLowerBound(j: number): number {
    const ms = this.ovMs[j]!;
    const index = this.ovIx[j]!;
    let lo = 0;
    let hi = this.baseKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.baseMsAt(mid), this.baseIndexAt(mid), ms, index) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private ensureFenwick(): Int32Array {
    if (this.fenwick !== null) return this.fenwick;
    const n = this.baseKeys.length;
    const tree = new Int32Array(n + 1);
    for (let p = 0; p < n; p++) tree[p + 1] = this.baseRemoved[this.baseIndexAt(p)] === 1 ? 0 : 1;
    for (let i = 1; i <= n; i++) {
      const parent = i + (i & -i);
      if (parent <= n) tree[parent]! += tree[i]!;
    }
    this.fenwick = tree;
    return tree;
  }

  /** Live base entries in slots [0, position). */
  private prefix(tree: Int32Array, position: number): number {
    let sum = 0;
    for (let i = position; i > 0; i -= i & -i) sum += tree[i]!;
    return sum;
  }

  /** The slot of the k-th (0-based) live base entry, or the base length when there is none. */
  private selectBase(tree: Int32Array, k: number): number {
    let position = 0;
    let remaining = k;
    let step = 1;
    while (step * 2 <= this.baseKeys.length) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = position + step;
      if (next <= this.baseKeys.length && tree[next]! <= remaining) {
        position = next;
        remaining -= tree[next]!;
      }
    }
    return position;
  }
}
