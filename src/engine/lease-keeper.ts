import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { nowIso } from '../core/clock.ts';
import { LeaseHeldError, LeaseLostError } from '../core/errors.ts';
import type { SyncEventBus } from '../core/events.ts';
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
 * Holds one stream's lease for a run: acquires it (taking it over at once from a holder on this
 * host whose process is gone, e.g. after kill -9), renews it in the background, and reports loss.
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
 * A holder id is `host:pid:random`. On this host, a holder whose process no longer exists died
 * without releasing (kill -9, OOM): waiting for its lease to expire would only delay the restart.
 */
export function holderIsDead(holder: string): boolean {
  const [host, pidText] = holder.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
