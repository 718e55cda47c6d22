-- Issue 6: range backfills, the backfill breaker, reconciliation scans and version flags.
-- Append-only: never edit a migration that has shipped; add the next number instead.
-- History tables ("<stream>_history") are created by ensureStream for streams with `history: true`.

-- A range backfill's own checkpoint (`syncline backfill`), kept apart from the main one; NULL: none.
ALTER TABLE syncline_state ADD COLUMN backfill_checkpoint jsonb;
-- An operator approved the next run past the backfill breaker (`syncline approve`).
ALTER TABLE syncline_state ADD COLUMN approved boolean NOT NULL DEFAULT false;

-- Runs may now end as `paused_backfill`; `evidence` says why, or holds reconciliation drift.
ALTER TABLE syncline_runs ADD COLUMN evidence jsonb;
-- Records with the stored version but different content: applied and flagged.
ALTER TABLE syncline_runs ADD COLUMN flagged bigint NOT NULL DEFAULT 0;
ALTER TABLE syncline_runs DROP CONSTRAINT syncline_runs_status_check;
ALTER TABLE syncline_runs ADD CONSTRAINT syncline_runs_status_check
  CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'partial', 'paused_backfill'));

-- The keys a full scan (reconciliation) has seen so far; forgotten when the scan completes or is
-- dropped. Logged on purpose, not UNLOGGED: crash recovery empties an UNLOGGED table, and a worker
-- that retried its commit after the server came back would complete the scan with the keys seen
-- before the crash missing, soft-deleting records the source still has. `key` sorts like the
-- stream tables' `_key` ("C"), so the anti-join of `completeScan` uses the primary key.
CREATE TABLE syncline_scan_keys (
  stream text NOT NULL,
  scan_id text NOT NULL,
  key text COLLATE "C" NOT NULL,
  PRIMARY KEY (stream, scan_id, key)
);
