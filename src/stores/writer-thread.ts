import { type Transferable, Worker } from 'node:worker_threads';
import { REFUSED_MESSAGE, writerLoop } from './writer-thread-loop.mjs';

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
 * Programs that run inline even once the thread is ready: a short run's commits (an incremental
 * run has one or two) then run on the connection whose cache its lookups just filled, rather than on
 * the thread's, which would read the same pages again (1M-record table: 0.45-0.52 s against 0.83 s
 * for an incremental run of 2 commits). A long run moves to the thread after them.
 */
const INLINE_FIRST_PROGRAMS = 2;

/** Applies one program on the main thread's own connection: the failure, or null once committed. */
export type InlineApply = (program: never) => object | null | Promise<object | null>;

export interface WriterThreadOptions {
  readonly resourceLimits?: { readonly maxYoungGenerationSizeMb?: number };
  /**
   * Applies programs on the main thread while the thread is still starting. Starting a thread and
   * loading its driver takes 70-250 ms, longer than a short run's whole commit: a run that writes a
   * few pages (an incremental run) is done before the thread could have taken its first program.
   */
  readonly inline?: InlineApply;
}

interface ApplyMessage {
  readonly type: 'apply';
  readonly id: number;
  readonly chained: boolean;
  readonly program: unknown;
}
type Answer<F extends WriterFailure> = { readonly id: number } & WriterOutcome<F>;
type Message<F extends WriterFailure> = { readonly type: 'ready' | 'closed' } | Answer<F>;

/**
 * The main thread's side of a store's writer thread (a module serving `writer-thread-loop.mjs`):
 * hands it write programs (one transaction each) and resolves each with its outcome, in the order
 * they were handed over. A program handed over while another is unresolved is marked chained, so
 * the writer refuses it if that one failed, without waiting for the main thread to ask.
 *
 * With an `inline` writer, the first programs (`INLINE_FIRST_PROGRAMS`) and those handed over
 * before the thread said it is ready run the same loop on the main thread instead; after them, the
 * thread takes every program,
 * each posted only when no inline one is unanswered (a commit pipeline always has one in flight:
 * without holding them back it would stay inline for good). The two never hold programs at once,
 * so the order holds across them.
 *
 * The thread keeps the process alive only while a program is in flight.
 */
export class WriterThread<F extends WriterFailure> {
  #worker: Worker | null = null;
  readonly #spawn: () => Worker;
  readonly #waiting = new Map<number, (outcome: WriterOutcome<F>) => void>();
  readonly #stoppedFailure: (reason: string) => F;
  readonly #inline: ((message: unknown) => void) | null;
  #next = 1;
  /** Programs posted to the thread so far, and those of them not answered yet. */
  #posted = 0;
  #onThread = 0;
  /** Programs handed to the inline loop so far, and those of them not answered yet. */
  #inlined = 0;
  #onInline = 0;
  /** The last inline program failed or was refused (what the inline loop would refuse behind). */
  #inlineFailed = false;
  /** Programs handed over once the thread was ready, held until the inline ones are answered. */
  readonly #deferred: ApplyMessage[] = [];
  /** The thread said it can apply programs. */
  #ready = false;
  /** Set when the thread stopped: every program after that fails with it. */
  #stopped: string | null = null;
  /** The outcome of the program handed over last: outcomes come in order, so it is the last one. */
  #last: Promise<unknown> = Promise.resolve();
  readonly #closed: Promise<void>;
  #onClosed: () => void = () => undefined;

  /**
   * `module`: the thread's module; `workerData`: its options; `stoppedFailure`: the failure of a
   * program the thread could not apply because it stopped.
   */
  constructor(
    module: URL,
    workerData: unknown,
    stoppedFailure: (reason: string) => F,
    options: WriterThreadOptions = {},
  ) {
    this.#stoppedFailure = stoppedFailure;
    this.#closed = new Promise((resolve) => {
      this.#onClosed = resolve;
    });
    this.#inline = options.inline
      ? writerLoop(
          options.inline,
          () => undefined,
          (message) => {
            const answer = message as Answer<F>;
            this.#onInline--;
            this.#inlineFailed = !answer.ok;
            this.#settle(answer);
            if (this.#onInline === 0) this.#handOver();
          },
        )
      : null;
    this.#spawn = () => {
      const worker = new Worker(module, { workerData, resourceLimits: options.resourceLimits ?? {} });
      worker.unref();
      worker.on('message', (message: Message<F>) => {
        if (!('id' in message)) {
          if (message.type === 'ready') this.#ready = true;
          else this.#onClosed();
        } else {
          this.#onThread--;
          if (this.#onThread === 0) worker.unref();
          this.#settle(message);
        }
      });
      worker.on('error', (error) => this.#stop(`the writer thread failed: ${error.message}`));
      worker.once('exit', (code) => {
        this.#stop(`the writer thread stopped (exit code ${code})`);
        this.#onClosed();
      });
      return worker;
    };
    // With an inline writer, the thread starts only once a run outlasts the first programs: a short
    // run never pays its start (70-250 ms of a core, on a machine the run itself keeps busy).
    if (!this.#inline) this.#worker = this.#spawn();
  }

  /** Whether the thread was started (with an inline writer, only once a run outlasts its first programs). */
  get started(): boolean {
    return this.#worker !== null;
  }

  /** The thread said it can take programs; before that, programs run inline (when there is an inline writer). */
  get ready(): boolean {
    return this.#ready;
  }

  /** Applies `program` on the thread (or inline while it starts), after those handed over before it. */
  apply(program: unknown, transfer: readonly Transferable[] = []): Promise<WriterOutcome<F>> {
    if (this.#stopped !== null)
      return Promise.resolve({ ok: false, failure: this.#stoppedFailure(this.#stopped) });
    const id = this.#next++;
    const chained = this.#waiting.size > 0;
    const outcome = new Promise<WriterOutcome<F>>((resolve) => this.#waiting.set(id, resolve));
    this.#last = outcome;
    const message: ApplyMessage = { type: 'apply', id, chained, program };
    if (this.#inlined >= INLINE_FIRST_PROGRAMS) this.#worker ??= this.#spawn();
    if (
      this.#inline &&
      this.#onThread === 0 &&
      this.#deferred.length === 0 &&
      (!this.#ready || this.#inlined < INLINE_FIRST_PROGRAMS)
    ) {
      this.#inlined++;
      this.#onInline++;
      // On a later turn, as the thread would: the caller hands over its next program meanwhile.
      setImmediate(this.#inline, message);
    } else if (this.#onInline > 0) {
      // The thread is ready but inline programs are unanswered: this one waits, not to overtake them.
      this.#deferred.push(message);
    } else this.#post(message, transfer);
    return outcome;
  }

  /** Posts the programs held for the thread; those chained behind a failed inline one are refused. */
  #handOver(): void {
    for (const message of this.#deferred.splice(0)) {
      // A held program was handed over behind an unanswered one, so it is chained; once one is
      // posted, the thread's own loop refuses behind its failures.
      if (message.chained && this.#inlineFailed) {
        this.#settle({
          id: message.id,
          ok: false,
          failure: { refused: true, message: REFUSED_MESSAGE } as F,
        });
      } else {
        this.#inlineFailed = false;
        this.#post(message);
      }
    }
  }

  #post(message: ApplyMessage, transfer: readonly Transferable[] = []): void {
    if (this.#stopped !== null) {
      this.#settle({ id: message.id, ok: false, failure: this.#stoppedFailure(this.#stopped) });
      return;
    }
    this.#worker ??= this.#spawn();
    this.#posted++;
    this.#onThread++;
    this.#worker.ref();
    this.#worker.postMessage(message, [...transfer]);
  }

  /**
   * Lets the writer finish what it was handed, then has the thread close its connection. A thread
   * that was never handed a program has nothing to finish: it is stopped at once, even if it is
   * still starting. Resolves once the connection is closed, not when the thread has torn itself
   * down (that takes it up to 100 ms more, and holds nothing).
   */
  async close(): Promise<void> {
    await this.#last;
    const worker = this.#worker;
    if (worker === null) return;
    if (this.#posted === 0) {
      await worker.terminate();
      return;
    }
    // Referenced until the connection is closed: otherwise a process with nothing else to do would
    // exit while waiting, before the thread closed it.
    worker.ref();
    if (this.#stopped === null) worker.postMessage({ type: 'close' });
    await this.#closed;
    worker.unref();
  }

  #settle(message: Answer<F>): void {
    const settle = this.#waiting.get(message.id);
    this.#waiting.delete(message.id);
    settle?.(message);
  }

  #stop(reason: string): void {
    this.#stopped ??= reason;
    for (const settle of this.#waiting.values()) settle({ ok: false, failure: this.#stoppedFailure(reason) });
    this.#waiting.clear();
  }
}
