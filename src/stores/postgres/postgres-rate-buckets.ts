import type { SharedRateBuckets } from '../../core/store.ts';
import type { PostgresQueries } from './postgres-queries.ts';

/**
 * Takes one token from a bucket and says how long to wait, in one statement (one round trip, one
 * short row lock): the row is created full less the token on first use, else refilled by the
 * database's clock since its last reservation (capped at `burst`, `$3`) and debited. Its tokens may
 * go negative: the caller then waits for the debt to refill at `$2` tokens per second, exactly as the
 * in-process `TokenBucket.reserve()` does, so callers of every process are served in turn.
 *
 * `clock_timestamp()` is read once, for the row it would insert (`EXCLUDED.updated_at`). A caller
 * that read it, then waited for the row lock behind one that read it later, must not move
 * `updated_at` back (the next caller would be refilled twice for the same time): the refill counts
 * no negative time and `updated_at` only moves forward.
 */
const RESERVE_SQL = `INSERT INTO syncline_rate_buckets AS b (key, tokens, updated_at)
  VALUES ($1, $3::float8 - 1, clock_timestamp())
  ON CONFLICT (key) DO UPDATE SET
    tokens = LEAST(
      $3::float8,
      b.tokens + GREATEST(0, EXTRACT(EPOCH FROM EXCLUDED.updated_at - b.updated_at)::float8) * $2::float8
    ) - 1,
    updated_at = GREATEST(b.updated_at, EXCLUDED.updated_at)
  RETURNING CASE WHEN b.tokens >= 0 THEN 0 ELSE ceil(-b.tokens * 1000 / $2::float8) END::float8 AS wait_ms`;

/** Shared token buckets in PostgreSQL (`syncline_rate_buckets`): see `SharedRateBuckets`. */
export class PostgresRateBuckets implements SharedRateBuckets {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async reserveRateToken(key: string, requestsPerSecond: number, burst: number): Promise<number> {
    const rows = await this.#db.query<{ wait_ms: number }>(
      `taking a token of the shared rate limit of ${key}`,
      undefined,
      RESERVE_SQL,
      [key, requestsPerSecond, burst],
    );
    return rows[0]!.wait_ms;
  }
}
