import { FatalError, type SyncError } from '../core/errors.ts';
import type { StoreOpenOptions } from '../core/store.ts';

/**
 * What a kind of store tells its `StoreRuntime`: how to open and close its connection, and how to
 * read what its driver throws. `C` is whatever one open store holds (a SQLite connection and the
 * statements prepared on it, a PostgreSQL pool).
 */
export interface StoreDriver<C> {
  /** The store in messages, without credentials: `the SQLite store at "syncline.db"`. */
  readonly name: string;
  /**
   * Connects and migrates as `options` asks. Throws a typed error (`StoreUnavailableError` with one
   * line) having kept nothing open.
   */
  connect(options: StoreOpenOptions): Promise<C>;
  /** Closes what `connect` returned (and what the store started on it, such as its writer thread). */
  disconnect(connection: C): Promise<void>;
  /**
   * A typed error for what the driver threw while doing `what` (on `stream`): transient when a retry
   * may help, fatal otherwise. `SyncError`s pass through unchanged.
   */
  toSyncError(error: unknown, what: string, stream?: string): SyncError;
}

/**
 * The part every store shares around its SQL, once (kysely's `RuntimeDriver` is the model): each
 * store's role modules (run log, leases, dead letters...) take the runtime and stay thin.
 *
 * - **Open once.** `open` is idempotent; calls that overlap share one attempt (the first caller's
 *   options decide it); a failed attempt leaves the store closed, and the next `open` tries again.
 * - **Refuse work when not open.** `connection` throws a `FatalError` naming the store before
 *   `open`, after `close`, or after a failed `open`.
 * - **Translate errors.** `guard` runs a synchronous step and turns what it throws into a typed
 *   error; asynchronous steps catch and call `toSyncError` themselves, which costs the commit path
 *   and lookups no closure and no extra promise.
 *
 * It does not log: no store logs today. A hook would go into `guard` and the drivers' query helpers,
 * on the failure path, where it costs a success nothing.
 */
export class StoreRuntime<C> {
  readonly #driver: StoreDriver<C>;
  #connection: C | undefined;
  #opening: Promise<void> | undefined;

  constructor(driver: StoreDriver<C>) {
    this.#driver = driver;
  }

  open(options: StoreOpenOptions = {}): Promise<void> {
    if (this.#connection !== undefined) return Promise.resolve();
    this.#opening ??= this.#driver.connect(options).then(
      (connection) => {
        this.#connection = connection;
        this.#opening = undefined;
      },
      (error: unknown) => {
        this.#opening = undefined;
        throw error;
      },
    );
    return this.#opening;
  }

  /**
   * Closes the connection; idempotent. An `open` in flight is waited for first, so the connection it
   * makes is not left open behind a close.
   */
  async close(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => undefined);
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#connection = undefined;
    await this.#driver.disconnect(connection);
  }

  get isOpen(): boolean {
    return this.#connection !== undefined;
  }

  /** The open connection; a `FatalError` when the store is not open. */
  get connection(): C {
    const connection = this.#connection;
    if (connection === undefined) {
      throw new FatalError(`${this.#driver.name} is not open: call open() first (or it was closed)`);
    }
    return connection;
  }

  /** Runs `fn` on the open connection, turning what it throws into a typed error that says `what` failed. */
  guard<T>(what: string, stream: string | undefined, fn: (connection: C) => T): T {
    try {
      return fn(this.connection);
    } catch (error) {
      throw this.#driver.toSyncError(error, what, stream);
    }
  }

  /** The driver's translation, for asynchronous steps (see the class comment). */
  toSyncError(error: unknown, what: string, stream?: string): SyncError {
    return this.#driver.toSyncError(error, what, stream);
  }
}
