import type { RecordStore } from '../core/store.ts';
import type { RecordWrite, StoredRecordState } from '../core/types.ts';
import { KeyFilter } from './key-filter.ts';

/**
 * What the store holds for a batch's keys, as classification must see it while earlier commits are
 * still in flight (ARCHITECTURE "inserts by the fast path"):
 *
 * - a key written by a commit the store has not confirmed yet has the state that write gives it;
 * - a key the run has certainly not written, in a table that was empty when the run started, is
 *   absent: no lookup (a `KeyFilter` remembers the keys written);
 * - any other key is looked up in the store. No commit in flight touches such a key, so the lookup
 *   may run while they are applied: what it reads is what they will leave.
 *
 * Only the run holding the stream's lease writes the table, so nothing else changes it meanwhile.
 */
export class StoredStates {
  readonly #store: RecordStore;
  readonly #stream: string;
  /** Keys written this run, when the table was empty at its start; null otherwise. */
  readonly #written: KeyFilter | null;
  /** Per key: the state its latest unconfirmed write gives it, and that write's commit. */
  readonly #inFlight = new Map<string, { readonly state: StoredRecordState; readonly commit: number }>();
  /** Keys looked up in the store so far (the rest were known). */
  lookedUp = 0;

  private constructor(store: RecordStore, stream: string, emptyAtStart: boolean) {
    this.#store = store;
    this.#stream = stream;
    this.#written = emptyAtStart ? new KeyFilter() : null;
  }

  /** Call under the stream's lease, before the run's first commit. */
  static async open(store: RecordStore, stream: string): Promise<StoredStates> {
    return new StoredStates(store, stream, !(await store.hasRecords(stream)));
  }

  /** The stored state of those `keys` that exist (absent keys are not in the map). */
  async of(keys: readonly string[]): Promise<Map<string, StoredRecordState>> {
    const states = new Map<string, StoredRecordState>();
    const ask: string[] = [];
    for (const key of keys) {
      // Every key in flight was written this run: the filter rules most keys out at once.
      if (this.#written !== null && !this.#written.mightContain(key)) continue;
      const pending = this.#inFlight.get(key);
      if (pending !== undefined) states.set(key, pending.state);
      else ask.push(key);
    }
    if (ask.length > 0) {
      this.lookedUp += ask.length;
      for (const [key, state] of await this.#store.lookup(this.#stream, ask)) states.set(key, state);
    }
    return states;
  }

  /**
   * `writes` were handed to the store as commit `commit` (numbered in the order they were handed).
   * Only their states are kept, not their data: the data is the store's once it has the commit.
   */
  sent(writes: readonly RecordWrite[], commit: number): void {
    for (const w of writes) {
      const state = { hash: w.hash, version: w.version, deleted: w.deleted, cursor: w.cursor };
      this.#inFlight.set(w.key, { state, commit });
      this.#written?.add(w.key);
    }
  }

  /** The store confirmed commit `commit`, which wrote `keys`: they are read from the store again. */
  confirmed(keys: readonly string[], commit: number): void {
    for (const key of keys) {
      if (this.#inFlight.get(key)?.commit === commit) this.#inFlight.delete(key);
    }
  }
}
