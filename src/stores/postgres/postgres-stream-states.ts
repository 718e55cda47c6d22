import { FatalError } from '../../core/errors.ts';
import type { CheckpointSlot, StreamStateStore } from '../../core/store.ts';
import type { StreamState } from '../../core/types.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { SLOT_COLUMN, STATE_COLUMNS, type StateRow, toStreamState } from './postgres-rows.ts';

/** A stream's row in `syncline_state`, read, and changed by an operator (reset, approve). */
export class PostgresStreamStates implements StreamStateStore {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async getState(stream: string): Promise<StreamState | null> {
    const rows = await this.#db.query<StateRow>(
      'reading the state',
      stream,
      `SELECT ${STATE_COLUMNS} FROM syncline_state WHERE stream = $1`,
      [stream],
    );
    return rows[0] === undefined ? null : toStreamState(rows[0]);
  }

  async resetCheckpoint(stream: string, at: string, slot: CheckpointSlot = 'main'): Promise<void> {
    const rows = await this.#db.query(
      'resetting the checkpoint',
      stream,
      `UPDATE syncline_state SET ${SLOT_COLUMN[slot]} = NULL, updated_at = $2::timestamptz
      WHERE stream = $1 RETURNING stream`,
      [stream, at],
    );
    if (rows.length === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to reset`, { stream });
  }

  async setApproval(stream: string, approved: boolean, at: string): Promise<void> {
    const rows = await this.#db.query(
      'setting the approval',
      stream,
      `UPDATE syncline_state SET approved = $2, updated_at = $3::timestamptz WHERE stream = $1 RETURNING stream`,
      [stream, approved, at],
    );
    if (rows.length === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to approve`, { stream });
  }
}
