-- Issue 6: range backfills, the backfill breaker, reconciliation scans and version flags.
-- Append-only: never edit a migration that has shipped; add the next number instead.
-- History tables ("<stream>_history") are created by ensureStream for streams with `history: true`.

-- A range backfill's own checkpoint (`syncline backfill`), kept apart from the main one; NULL: none.
ALTER TABLE syncline_state ADD COLUMN backfill_checkpoint TEXT;
-- 1 when an operator approved the next run past the backfill breaker (`syncline approve`).
ALTER TABLE syncline_state ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;

-- Runs may now end as `paused_backfill`; `evidence` (JSON text) says why, or holds reconciliation drift.
ALTER TABLE syncline_runs ADD COLUMN evidence TEXT;
-- Records with the stored version but different content: applied and flagged.
ALTER TABLE syncline_runs ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;

-- The keys a full scan (reconciliation) has seen so far; forgotten when the scan completes or is dropped.
CREATE TABLE syncline_scan_keys (
  stream TEXT NOT NULL,
  scan_id TEXT NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (stream, scan_id, key)
) WITHOUT ROWID;
