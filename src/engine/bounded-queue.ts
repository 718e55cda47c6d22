/**
 * A FIFO with a capacity, for pages in flight between the fetching side and the committing side.
 * `push` waits while the queue is full, so memory is bounded by capacity pages whatever the stream's
 * size. `close` ends iteration after the items already queued; `fail` ends it with an error after
 * them.
 */
export class BoundedQueue<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #closed = false;
  #error: { error: unknown } | null = null;
  #wakeConsumer: (() => void) | null = null;
  #wakeProducer: (() => void) | null = null;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`queue capacity must be >= 1, got ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Resolves once the item is queued. Returns false (dropping it) if the queue was closed. */
  async push(item: T): Promise<boolean> {
    while (this.#items.length >= this.#capacity && !this.#closed) {
      await new Promise<void>((resolve) => {
        this.#wakeProducer = resolve;
      });
    }
    if (this.#closed) return false;
    this.#items.push(item);
    this.#wake('consumer');
    return true;
  }

  close(): void {
    this.#closed = true;
    this.#wake('consumer');
    this.#wake('producer');
  }

  fail(error: unknown): void {
    this.#error ??= { error };
    this.close();
  }

  /** Drops what is queued and wakes a waiting producer (its push returns false). */
  drain(): void {
    this.#items.length = 0;
    this.close();
  }

  /** Takes the next item if one is queued right now and `accept(item)` says yes; never waits. */
  shiftReady(accept: (item: T) => boolean = () => true): T | undefined {
    const item = this.#items[0];
    if (item === undefined || !accept(item)) return undefined;
    this.#items.shift();
    this.#wake('producer');
    return item;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        this.#wake('producer');
        yield item;
        continue;
      }
      if (this.#closed) {
        if (this.#error) throw this.#error.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#wakeConsumer = resolve;
      });
    }
  }

  #wake(side: 'consumer' | 'producer'): void {
    const wake = side === 'consumer' ? this.#wakeConsumer : this.#wakeProducer;
    if (side === 'consumer') this.#wakeConsumer = null;
    else this.#wakeProducer = null;
    wake?.();
  }
}
