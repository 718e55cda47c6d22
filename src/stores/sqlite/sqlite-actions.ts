import type {
  ActionLog,
  ActionOrigin,
  ListActions,
  OperatorAction,
  OperatorActionName,
  RecordedAction,
} from '../../core/store.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import type { SqliteSession } from './sqlite-session.ts';

/** A `syncline_actions` row. */
interface ActionRow {
  id: number;
  at: string;
  stream: string | null;
  target: string | null;
  action: string;
  origin: string;
  detail: string;
}

/** The operator's actions in the SQLite store (`ActionLog` in core/store.ts). */
export class SqliteActions implements ActionLog {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async recordAction(action: OperatorAction): Promise<void> {
    this.#runtime.guard(`record the action "${action.action}"`, action.stream ?? undefined, (s) =>
      s
        .sql<[string, string | null, string | null, string, string, string]>(
          'INSERT INTO syncline_actions (at, stream, target, action, origin, detail) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(action.at, action.stream, action.target, action.action, action.origin, action.detail),
    );
  }

  async listActions({ stream, limit }: ListActions): Promise<RecordedAction[]> {
    const rows = this.#runtime.guard('list the actions', stream, (s) =>
      stream === undefined
        ? s.sql<[number], ActionRow>('SELECT * FROM syncline_actions ORDER BY id DESC LIMIT ?').all(limit)
        : s
            .sql<[string, number], ActionRow>(
              'SELECT * FROM syncline_actions WHERE stream = ? ORDER BY id DESC LIMIT ?',
            )
            .all(stream, limit),
    );
    return rows.map((row) => ({
      id: row.id,
      at: row.at,
      stream: row.stream,
      target: row.target,
      action: row.action as OperatorActionName,
      origin: row.origin as ActionOrigin,
      detail: row.detail,
    }));
  }
}
