import type {
  ActionLog,
  ActionOrigin,
  ListActions,
  OperatorAction,
  OperatorActionName,
  RecordedAction,
} from '../../core/store.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { iso } from './postgres-rows.ts';

/** A `syncline_actions` row (`id` is a bigint: pg reads it as a string). */
interface ActionRow {
  id: string;
  at: Date;
  stream: string | null;
  target: string | null;
  action: string;
  origin: string;
  detail: string;
}

/** The operator's actions in the PostgreSQL store (`ActionLog` in core/store.ts). */
export class PostgresActions implements ActionLog {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async recordAction(action: OperatorAction): Promise<void> {
    await this.#db.query(
      `recording the action "${action.action}"`,
      action.stream ?? undefined,
      `INSERT INTO syncline_actions (at, stream, target, action, origin, detail)
      VALUES ($1::timestamptz, $2, $3, $4, $5, $6)`,
      [action.at, action.stream, action.target, action.action, action.origin, action.detail],
    );
  }

  async listActions({ stream, limit }: ListActions): Promise<RecordedAction[]> {
    const rows =
      stream === undefined
        ? await this.#db.query<ActionRow>(
            'listing the actions',
            undefined,
            'SELECT * FROM syncline_actions ORDER BY id DESC LIMIT $1',
            [limit],
          )
        : await this.#db.query<ActionRow>(
            'listing the actions',
            stream,
            'SELECT * FROM syncline_actions WHERE stream = $1 ORDER BY id DESC LIMIT $2',
            [stream, limit],
          );
    return rows.map((row) => ({
      id: Number(row.id),
      at: iso(row.at),
      stream: row.stream,
      target: row.target,
      action: row.action as OperatorActionName,
      origin: row.origin as ActionOrigin,
      detail: row.detail,
    }));
  }
}
