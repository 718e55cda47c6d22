/**
 * The sequence numbers of a dataset's changes feed, CouchDB `_changes` style: every record sits in
 * the feed once, at the sequence number of its latest change. Base records hold 1..baseCount in
 * index order (as if they were written in that order); each insert, update, delete or regression
 * gives its record the next number and frees the old one. A reader paging by `since` therefore
 * never skips a change: a record changed behind its position moves ahead of it.
 *
 * Memory: one number per change (the log) plus a Fenwick tree over sequence numbers marking the
 * current ones, so `pendingAfter` is O(log n) and appending is O(log n).
 */
export class ChangeSequence {
  private readonly baseCount: number;
  /** 1-based Fenwick tree over sequence numbers: 1 where the number is some record's current one. */
  private readonly tree: number[] = [0];
  /** The record index of each sequence number after the base ones: `log[seq - baseCount - 1]`. */
  private readonly log: number[] = [];
  /** The current number of every record that changed since the start (inserted ones included). */
  private readonly moved = new Map<number, number>();

  constructor(baseCount: number) {
    this.baseCount = baseCount;
    // Every base number is current: a Fenwick node over all ones holds its own span's length.
    for (let seq = 1; seq <= baseCount; seq++) this.tree.push(seq & -seq);
  }

  /** The newest sequence number handed out (0 when the dataset is empty and unchanged). */
  get last(): number {
    return this.tree.length - 1;
  }

  /** Gives the record the next sequence number (its change is now the newest); returns it. */
  stamp(index: number): number {
    const old = this.moved.get(index) ?? (index < this.baseCount ? index + 1 : 0);
    if (old > 0) this.add(old, -1);
    const seq = this.tree.length;
    // Appending to a Fenwick tree: the new node covers (seq - lowbit(seq), seq], itself being 1.
    this.tree.push(1 + this.prefix(seq - 1) - this.prefix(seq - (seq & -seq)));
    this.log.push(index);
    this.moved.set(index, seq);
    return seq;
  }

  /** The current sequence number of a record that exists. */
  seqOf(index: number): number {
    return this.moved.get(index) ?? index + 1;
  }

  /**
   * Up to `limit` current entries with a number above `since`, in feed order. Superseded numbers
   * (their record changed again since) are skipped.
   */
  after(since: number, limit: number): { seq: number; index: number }[] {
    const rows: { seq: number; index: number }[] = [];
    for (let seq = Math.max(0, since) + 1; seq <= this.last && rows.length < limit; seq++) {
      const index = seq <= this.baseCount ? seq - 1 : this.log[seq - this.baseCount - 1]!;
      if (this.seqOf(index) === seq) rows.push({ seq, index });
    }
    return rows;
  }

  /** How many entries have a number above `seq`. */
  pendingAfter(seq: number): number {
    return this.prefix(this.last) - this.prefix(Math.min(Math.max(0, seq), this.last));
  }

  private add(seq: number, delta: number): void {
    for (let i = seq; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  private prefix(seq: number): number {
    let sum = 0;
    for (let i = seq; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }
}
