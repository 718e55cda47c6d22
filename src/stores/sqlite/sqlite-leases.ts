import { FatalError, LeaseLostError } from '../../core/errors.ts';
import type { AcquireLease, LeaseStore } from '../../core/store.ts';
import type { Lease, LeaseConflict } from '../../core/types.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { StateRow } from './sqlite-rows.ts';
import type { SqlCache, SqliteSession } from './sqlite-session.ts';

/**
 * Leases in SQLite. A grant runs in a `BEGIN IMMEDIATE` transaction: the write lock makes the
 * read-decide-write of a grant atomic against other processes.
 *
 * Expiry is judged by this machine's clock when the statement runs, not by the caller's `at`: a
 * SQLite file lives on one machine, so its clock is the database's clock, as PostgreSQL's server
 * clock is for that store. The time is read once the write lock is held, after any wait for it.
 *
 * Granted when the lease is free, expired, already the asker's, or held by `takeOverFrom`. Only a
 * live lease re-granted to its own holder keeps its epoch; every other grant increments it, which
 * fences off whoever held it before.
 */
export class SqliteLeases implements LeaseStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    return this.#runtime.guard('acquire the lease', args.stream, (s) =>
      s.db.transaction(() => acquire(s.sql, args)).immediate(),
    );
  }

  /** `at` is not stored: SQLite's state row keeps no update time for a renewal. */
  async renewLease(lease: Lease, ttlMs: number): Promise<Lease> {
    return this.#runtime.guard('renew the lease', lease.stream, (s) => renew(s.sql, lease, ttlMs));
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.#runtime.guard('release the lease', lease.stream, (s) => release(s.sql, lease));
  }
}

/** A grant, inside the caller's `BEGIN IMMEDIATE` transaction. */
function acquire(sql: SqlCache, args: AcquireLease): { lease: Lease } | { conflict: LeaseConflict } {
  const { stream, holder } = args;
  const now = Date.now();
  const expiresAt = new Date(now + args.ttlMs).toISOString();
  const row = sql<[string], StateRow>('SELECT * FROM syncline_state WHERE stream = ?').get(stream);
  if (!row)
    throw new FatalError(`stream "${stream}" is not set up; ensure the stream before leasing it`, {
      stream,
    });
  const current = row.lease_holder;
  // Live up to and including its expiry instant; compared as instants, not as text.
  const live = current !== null && row.lease_expires_at !== null && Date.parse(row.lease_expires_at) >= now;
  if (live && current !== holder && current !== args.takeOverFrom) {
    return { conflict: { stream, holder: current, expiresAt: row.lease_expires_at! } };
  }
  // The same live holder keeps its epoch; any other grant fences every earlier holder.
  const epoch = live && current === holder ? row.lease_epoch : row.lease_epoch + 1;
  sql<[string, number, string, string]>(
    'UPDATE syncline_state SET lease_holder = ?, lease_epoch = ?, lease_expires_at = ? WHERE stream = ?',
  ).run(holder, epoch, expiresAt, stream);
  return { lease: { stream, holder, epoch, expiresAt } };
}

/**
 * Extends a lease to `ttlMs` from now by this machine's clock; throws `LeaseLostError` if the epoch
 * is no longer current.
 */
function renew(sql: SqlCache, lease: Lease, ttlMs: number): Lease {
  const expiresAt = new Date(Date.now() + ttlMs).toISOString();
  const renewed = sql<[string, string, string, number]>(
    'UPDATE syncline_state SET lease_expires_at = ? WHERE stream = ? AND lease_holder = ? AND lease_epoch = ?',
  ).run(expiresAt, lease.stream, lease.holder, lease.epoch);
  if (renewed.changes === 0) throw new LeaseLostError(lease.stream, lease.epoch);
  return { ...lease, expiresAt };
}

/** Frees the lease if still ours. */
function release(sql: SqlCache, lease: Lease): void {
  sql<[string, string, number]>(
    `UPDATE syncline_state SET lease_holder = NULL, lease_expires_at = NULL
     WHERE stream = ? AND lease_holder = ? AND lease_epoch = ?`,
  ).run(lease.stream, lease.holder, lease.epoch);
}
