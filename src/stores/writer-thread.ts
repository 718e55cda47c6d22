import { type Transferable, Worker } from 'node:worker_threads';

/** What every writer thread's failure says; each store adds where and why (`sqlite-write-program.ts`, ...). */
export interface WriterFailure {
  /** Not applied because the program handed over before it failed (`Store.commitPage`'s order rule). */
  readonly refused: boolean;
  readonly message: string;
}

/** How a program ended: committed, or how it failed. */
export type WriterOutcome<F extends WriterFailure> =
  | { readonly ok: true }
  | { readonly ok: false; readonly failure: F };

/**
 * The main thread's side of a store's writer thread (a module serving `writer-thread-loop.mjs`):
 * hands it write programs (one transaction each) and resolves each with its outcome, in the order
 * they were handed over. A program handed over while another is unresolved is marked chained, so
 * the thread refuses it if that one failed, without waiting for the main thread to ask.
 *
 * The thread keeps the process alive only while a program is in flight.
 */
export class WriterThread<F extends WriterFailure> {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, (outcome: WriterOutcome<F>) => void>();
  readonly #stoppedFailure: (reason: string) => F;
  #next = 1;
  /** Set when the thread stopped: every program after that fails with it. */
  #stopped: string | null = null;
  readonly #exited: Promise<void>;

  /**
   * `module`: the thread's module; `workerData`: its options; `stoppedFailure`: the failure of a
   * program the thread could not apply because it stopped.
   */
  constructor(
    module: URL,
    workerData: unknown,
    stoppedFailure: (reason: string) => F,
    resourceLimits: { readonly maxYoungGenerationSizeMb?: number } = {},
  ) {
    this.#stoppedFailure = stoppedFailure;
    this.#worker = new Worker(module, { workerData, resourceLimits });
    this.#worker.unref();
    this.#worker.on('message', (message: { id: number } & WriterOutcome<F>) => {
      const settle = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      settle?.(message);
    });
    this.#worker.on('error', (error) => this.#stop(`the writer thread failed: ${error.message}`));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#stop(`the writer thread stopped (exit code ${code})`);
        resolve();
      });
    });
  }

  /** Applies `program` on the thread, after those handed over before it. */
  apply(program: unknown, transfer: readonly Transferable[] = []): Promise<WriterOutcome<F>> {
    if (this.#stopped !== null)
      return Promise.resolve({ ok: false, failure: this.#stoppedFailure(this.#stopped) });
    const id = this.#next++;
    const chained = this.#waiting.size > 0;
    const outcome = new Promise<WriterOutcome<F>>((resolve) => this.#waiting.set(id, resolve));
    this.#worker.ref();
    this.#worker.postMessage({ type: 'apply', id, chained, program }, [...transfer]);
    return outcome;
  }

  /**
   * Lets the thread finish what it was handed, then has it close its connection and end. A thread
   * that was never handed a program has nothing to finish: it is stopped at once, even if it is
   * still starting (loading its driver takes a new thread 70-150 ms, which a run that wrote
   * nothing, like an unchanged poll, would otherwise wait for).
   */
  async close(): Promise<void> {
    if (this.#next === 1) {
      await this.#worker.terminate();
      return;
    }
    // Referenced until it has ended: otherwise a process with nothing else to do would exit while
    // waiting, before the thread closed its connection.
    this.#worker.ref();
    if (this.#stopped === null) this.#worker.postMessage({ type: 'close' });
    await this.#exited;
  }

  #stop(reason: string): void {
    this.#stopped ??= reason;
    for (const settle of this.#waiting.values()) settle({ ok: false, failure: this.#stoppedFailure(reason) });
    this.#waiting.clear();
  }
}
