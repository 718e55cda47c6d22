import type { PoolClient } from 'pg';
import { FatalError } from '../../core/errors.ts';
import type { AcquireLease } from '../../core/store.ts';
import type { Lease, LeaseConflict } from '../../core/types.ts';

/**
 * Decides and records a lease grant inside the caller's transaction. The state row is locked with
 * `SELECT ... FOR UPDATE`, so of two processes asking at once the second waits, then sees the
 * first one's grant: they cannot both win.
 *
 * Granted when the lease is free, expired, already the asker's, or held by `takeOverFrom`. Only a
 * live lease re-granted to its own holder keeps its epoch; every other grant increments it, which
 * fences off whoever held it before.
 */
export async function acquireLeaseTx(
  client: PoolClient,
  args: AcquireLease,
): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
  const { stream, holder, ttlMs, at, takeOverFrom } = args;
  const now = Date.parse(at);
  const expiresAt = new Date(now + ttlMs).toISOString();
  const { rows } = await client.query<{
    lease_holder: string | null;
    lease_epoch: string;
    lease_expires_at: Date | null;
  }>('SELECT lease_holder, lease_epoch, lease_expires_at FROM syncline_state WHERE stream = $1 FOR UPDATE', [
    stream,
  ]);
  const row = rows[0];
  if (row === undefined) {
    throw new FatalError(`stream "${stream}" has no state row in PostgreSQL: call ensureStream first`, {
      stream,
    });
  }
  const current = row.lease_holder;
  // A lease is live up to and including its expiry instant (the contract asks at exactly it).
  const live = current !== null && row.lease_expires_at !== null && row.lease_expires_at.getTime() >= now;
  const grantable = !live || current === holder || (takeOverFrom !== undefined && current === takeOverFrom);
  if (!grantable) {
    return { conflict: { stream, holder: current!, expiresAt: row.lease_expires_at!.toISOString() } };
  }
  const epoch = live && current === holder ? Number(row.lease_epoch) : Number(row.lease_epoch) + 1;
  await client.query(
    `UPDATE syncline_state SET lease_holder = $2, lease_epoch = $3::bigint, lease_expires_at = $4::timestamptz,
          updated_at = $5::timestamptz WHERE stream = $1`,
    [stream, holder, epoch, expiresAt, at],
  );
  return { lease: { stream, holder, epoch, expiresAt } };
}
