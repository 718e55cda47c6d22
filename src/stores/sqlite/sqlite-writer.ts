import { Worker } from 'node:worker_threads';
import type { WriteFailure, WriteProgram } from './sqlite-write-program.ts';

export interface SqliteWriterOptions {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly cacheSizeKiB: number;
  readonly walAutocheckpoint: number;
}

/** How a program ended: committed, or the step that failed. */
export type WriteOutcome = { readonly ok: true } | { readonly ok: false; readonly failure: WriteFailure };

/**
 * The main thread's side of the SQLite writer thread (`sqlite-writer-worker.mjs`): hands it write
 * programs and resolves each with its outcome, in the order they were handed over. A program
 * handed over while another is unresolved is marked chained, so the thread refuses it if that one
 * failed (`Store.commitPage`'s order rule) without waiting for the main thread to ask.
 *
 * The thread keeps the process alive only while a program is in flight.
 */
export class SqliteWriter {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, (outcome: WriteOutcome) => void>();
  #next = 1;
  /** Set when the thread stopped: every program after that fails with it. */
  #stopped: string | null = null;
  readonly #exited: Promise<void>;

  constructor(options: SqliteWriterOptions) {
    this.#worker = new Worker(new URL('./sqlite-writer-worker.mjs', import.meta.url), {
      workerData: options,
      // The thread only holds the programs in flight; a small young generation keeps its heap small.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    this.#worker.unref();
    this.#worker.on('message', (message: { id: number } & WriteOutcome) => {
      const settle = this.#waiting.get(message.id);
      this.#waiting.delete(message.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      settle?.(message);
    });
    this.#worker.on('error', (error) => this.#stop(`the SQLite writer thread failed: ${error.message}`));
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#stop(`the SQLite writer thread stopped (exit code ${code})`);
        resolve();
      });
    });
  }

  /** Applies `program` in one transaction on the writer thread, after those handed over before it. */
  apply(program: WriteProgram): Promise<WriteOutcome> {
    if (this.#stopped !== null) return Promise.resolve(stoppedOutcome(this.#stopped));
    const id = this.#next++;
    const chained = this.#waiting.size > 0;
    const outcome = new Promise<WriteOutcome>((resolve) => this.#waiting.set(id, resolve));
    this.#worker.ref();
    this.#worker.postMessage({ type: 'apply', id, chained, program });
    return outcome;
  }

  /** Lets the thread finish what it was handed, then closes its connection and ends it. */
  async close(): Promise<void> {
    if (this.#stopped === null) this.#worker.postMessage({ type: 'close' });
    await this.#exited;
  }

  #stop(reason: string): void {
    this.#stopped ??= reason;
    for (const settle of this.#waiting.values()) settle(stoppedOutcome(reason));
    this.#waiting.clear();
  }
}

function stoppedOutcome(reason: string): WriteOutcome {
  return {
    ok: false,
    failure: { step: -1, row: -1, key: null, code: null, message: reason, noChange: false, refused: false },
  };
}
