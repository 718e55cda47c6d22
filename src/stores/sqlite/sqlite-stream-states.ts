import { FatalError } from '../../core/errors.ts';
import type { CheckpointSlot, StreamStateStore } from '../../core/store.ts';
import type { StreamState } from '../../core/types.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import { toStreamState } from './sqlite-rows.ts';
import type { SqliteSession } from './sqlite-session.ts';
import { SLOT_COLUMN } from './sqlite-write-program.ts';

/** A stream's row in `syncline_state`, read, and changed by an operator (reset, approve). */
export class SqliteStreamStates implements StreamStateStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async getState(stream: string): Promise<StreamState | null> {
    const row = this.#runtime.guard('read the state', stream, (s) => s.stateRow(stream));
    return row ? toStreamState(row) : null;
  }

  async resetCheckpoint(stream: string, at: string, slot: CheckpointSlot = 'main'): Promise<void> {
    const reset = this.#runtime.guard('reset the checkpoint', stream, (s) =>
      s
        .sql<[string, string]>(
          `UPDATE syncline_state SET ${SLOT_COLUMN[slot]} = NULL, updated_at = ? WHERE stream = ?`,
        )
        .run(at, stream),
    );
    if (reset.changes === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to reset`, { stream });
  }

  async setApproval(stream: string, approved: boolean, at: string): Promise<void> {
    const set = this.#runtime.guard('set the approval', stream, (s) =>
      s
        .sql<[number, string, string]>(
          'UPDATE syncline_state SET approved = ?, updated_at = ? WHERE stream = ?',
        )
        .run(approved ? 1 : 0, at, stream),
    );
    if (set.changes === 0)
      throw new FatalError(`stream "${stream}" is not in the store; nothing to approve`, { stream });
  }
}
