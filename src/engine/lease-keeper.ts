import { setTimeout as sleep } from 'node:timers/promises';
import { nowIso } from '../core/clock.ts';
import { LeaseHeldError, LeaseLostError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
import { ProcessIdentity } from '../core/process-identity.ts';
import type { LeaseStore } from '../core/store.ts';
import type { Lease } from '../core/types.ts';

export interface LeaseOptions {
  /** How long a lease lives without renewal. Default 30 s; renewed every third of it. */
  readonly ttlMs?: number;
  /**
   * When another live worker holds the stream: wait up to this many ms for it (polling), or, at 0
   * (the default), fail at once with `LeaseHeldError`.
   */
  readonly waitMs?: number;
}

/**
 * Holds one stream's lease for a run: acquires it (taking it over at once from a holder whose
 * process is certainly gone, e.g. after kill -9 on this machine: `holderIsDead`), renews it in the
 * background, and reports loss.
 */
export class LeaseKeeper {
  readonly #store: LeaseStore;
  readonly #ttlMs: number;
  #lease: Lease;
  #timer: NodeJS.Timeout | null = null;
  #lost: LeaseLostError | null = null;
  #renewing: Promise<void> | null = null;

  private constructor(store: LeaseStore, lease: Lease, ttlMs: number) {
    this.#store = store;
    this.#lease = lease;
    this.#ttlMs = ttlMs;
  }

  static async acquire(args: {
    store: LeaseStore;
    stream: string;
    holder: string;
    options?: LeaseOptions;
    events?: SyncEventBus;
    signal?: AbortSignal;
  }): Promise<LeaseKeeper> {
    const { store, stream, holder } = args;
    const ttlMs = args.options?.ttlMs ?? 30_000;
    const deadline = Date.now() + (args.options?.waitMs ?? 0);
    let announced = false;
    for (;;) {
      const got = await store.acquireLease({ stream, holder, ttlMs, at: nowIso() });
      if ('lease' in got) return new LeaseKeeper(store, got.lease, ttlMs);
      const { conflict } = got;
      if (holderIsDead(conflict.holder)) {
        const taken = await store.acquireLease({
          stream,
          holder,
          ttlMs,
          at: nowIso(),
          takeOverFrom: conflict.holder,
        });
        if ('lease' in taken) return new LeaseKeeper(store, taken.lease, ttlMs);
        continue;
      }
      if (Date.now() >= deadline || args.signal?.aborted) {
        throw new LeaseHeldError(stream, conflict.holder, conflict.expiresAt);
      }
      if (!announced) {
        args.events?.emit('lease:waiting', {
          stream,
          holder: conflict.holder,
          expiresAt: conflict.expiresAt,
        });
        announced = true;
      }
      await sleep(Math.min(1000, Math.max(50, deadline - Date.now())), undefined, { ref: true });
    }
  }

  get lease(): Lease {
    return this.#lease;
  }

  /** Set once a renewal found the lease taken over. */
  get lost(): LeaseLostError | null {
    return this.#lost;
  }

  /** Starts renewing every third of the TTL; `onLost` is called once if the lease is lost. */
  keepAlive(onLost: (error: LeaseLostError) => void): void {
    const every = Math.max(100, Math.floor(this.#ttlMs / 3));
    this.#timer = setInterval(() => {
      if (this.#renewing) return;
      this.#renewing = this.#store
        .renewLease(this.#lease, this.#ttlMs, nowIso())
        .then((lease) => {
          this.#lease = lease;
        })
        .catch((error: unknown) => {
          if (error instanceof LeaseLostError && !this.#lost) {
            this.#lost = error;
            this.#stop();
            onLost(error);
          }
          // Other renewal errors (a store blip) are retried at the next tick; the commit fencing
          // is what guarantees safety, renewal only keeps the lease from expiring.
        })
        .finally(() => {
          this.#renewing = null;
        });
    }, every);
    this.#timer.unref();
  }

  async release(): Promise<void> {
    this.#stop();
    await this.#renewing;
    if (!this.#lost) await this.#store.releaseLease(this.#lease);
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/**
 * Whether a lease holder's process has certainly ended (killed with -9, OOM): then waiting for its
 * lease to expire would only delay the restart. Certain only on the same host, boot and PID
 * namespace, with its PID free or reused by a process that started at another time
 * (`ProcessIdentity.isCertainlyGone`); any other holder, an old-format id (`host:pid:random`)
 * included, keeps its lease until the TTL.
 */
export function holderIsDead(holder: string): boolean {
  return ProcessIdentity.parse(holder)?.isCertainlyGone() ?? false;
}
