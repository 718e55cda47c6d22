/**
 * Writes that arrive while one is being written are written together, in one transaction (one
 * sync to disk, one lock): a burst of webhooks then costs a commit per batch, not per event. Each
 * caller resolves when the transaction holding its item committed, or rejects with its error (a
 * failed batch fails every item in it: each caller answers as it would its own failure).
 */
export class GroupCommit<T, R> {
  readonly #write: (items: readonly T[]) => Promise<readonly R[]>;
  readonly #maxBatch: number;
  #queue: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  #draining = false;

  constructor(write: (items: readonly T[]) => Promise<readonly R[]>, maxBatch = 500) {
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#draining) return;
      this.#draining = true;
      // After the current turn of the event loop: what else arrived in it joins the first batch.
      setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const results = await this.#write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(results[i]!);
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    this.#draining = false;
  }
}
