import type { PoolClient } from 'pg';
import { FatalError, LeaseLostError } from '../../core/errors.ts';
import type { AcquireLease, LeaseStore } from '../../core/store.ts';
import type { Lease, LeaseConflict } from '../../core/types.ts';
import type { PostgresQueries } from './postgres-queries.ts';

/**
 * The server's clock now, to the millisecond: leases are judged and stamped by it, never by a
 * client's clock, so clients whose clocks disagree still agree on who holds a lease. Milliseconds,
 * because that is what a client reads back (a JS Date): the `expiresAt` it holds is the stored one.
 * `clock_timestamp()`, not `now()`: `now()` is the transaction's start, before any wait for a lock.
 */
const SERVER_NOW = "date_trunc('milliseconds', clock_timestamp())";

/** `ttlMs` (parameter `$n`) after the server's clock now. */
const expiresAfter = (n: number) => `${SERVER_NOW} + $${n}::float8 * interval '1 millisecond'`;

/** Leases in PostgreSQL: `syncline_state`'s lease columns, judged by the server's clock. */
export class PostgresLeases implements LeaseStore {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    return this.#db.transaction('acquiring the lease', args.stream, (client) => acquireLeaseTx(client, args));
  }

  async renewLease(lease: Lease, ttlMs: number, at: string): Promise<Lease> {
    const rows = await this.#db.query<{ lease_expires_at: Date }>(
      'renewing the lease',
      lease.stream,
      RENEW_LEASE_SQL,
      [lease.stream, lease.holder, lease.epoch, ttlMs, at],
    );
    if (rows[0] === undefined) throw new LeaseLostError(lease.stream, lease.epoch);
    return { ...lease, expiresAt: rows[0].lease_expires_at.toISOString() };
  }

  async releaseLease(lease: Lease): Promise<void> {
    // The epoch stays: the next grant increments it.
    await this.#db.query(
      'releasing the lease',
      lease.stream,
      `UPDATE syncline_state SET lease_holder = NULL, lease_expires_at = NULL
      WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint`,
      [lease.stream, lease.holder, lease.epoch],
    );
  }
}

/**
 * Decides and records a lease grant inside the caller's transaction. The state row is locked with
 * `SELECT ... FOR UPDATE` first, so of two processes asking at once the second waits, then sees the
 * first one's grant: they cannot both win.
 *
 * Granted when the lease is free, expired, already the asker's, or held by `takeOverFrom`. Only a
 * live lease re-granted to its own holder keeps its epoch; every other grant increments it, which
 * fences off whoever held it before. Liveness and the new expiry are both the server's clock, read
 * in the UPDATE, once the row lock is held; `args.at` is only recorded as `updated_at`.
 */
async function acquireLeaseTx(
  client: PoolClient,
  args: AcquireLease,
): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
  const { stream, holder, ttlMs, at, takeOverFrom } = args;
  const { rows } = await client.query<{ lease_holder: string | null; lease_expires_at: Date | null }>(
    'SELECT lease_holder, lease_expires_at FROM syncline_state WHERE stream = $1 FOR UPDATE',
    [stream],
  );
  const row = rows[0];
  if (row === undefined) {
    throw new FatalError(`stream "${stream}" has no state row in PostgreSQL: call ensureStream first`, {
      stream,
    });
  }
  // A lease is live up to and including its expiry instant.
  const granted = await client.query<{ lease_epoch: string; lease_expires_at: Date }>(
    `UPDATE syncline_state s SET
        lease_epoch = CASE WHEN s.lease_holder = $2 AND s.lease_expires_at >= c.now
                           THEN s.lease_epoch ELSE s.lease_epoch + 1 END,
        lease_holder = $2,
        lease_expires_at = c.now + $3::float8 * interval '1 millisecond',
        updated_at = $5::timestamptz
      FROM (SELECT ${SERVER_NOW} AS now) c
      WHERE s.stream = $1
        AND (s.lease_holder IS NULL OR s.lease_expires_at IS NULL OR s.lease_expires_at < c.now
             OR s.lease_holder = $2 OR s.lease_holder = $4)
      RETURNING s.lease_epoch, s.lease_expires_at`,
    [stream, holder, ttlMs, takeOverFrom ?? null, at],
  );
  const lease = granted.rows[0];
  if (lease === undefined) {
    return {
      conflict: { stream, holder: row.lease_holder!, expiresAt: row.lease_expires_at!.toISOString() },
    };
  }
  return {
    lease: {
      stream,
      holder,
      epoch: Number(lease.lease_epoch),
      expiresAt: lease.lease_expires_at.toISOString(),
    },
  };
}

/**
 * Extends a lease to `ttlMs` after the server's clock now, if its epoch is still current (else no
 * row: the caller throws `LeaseLostError`). `$5`, the caller's time, is only recorded as `updated_at`.
 */
const RENEW_LEASE_SQL = `UPDATE syncline_state SET lease_expires_at = ${expiresAfter(4)},
    updated_at = $5::timestamptz
  WHERE stream = $1 AND lease_holder = $2 AND lease_epoch = $3::bigint RETURNING lease_expires_at`;
