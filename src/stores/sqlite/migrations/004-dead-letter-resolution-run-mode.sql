-- Issue 17: dead letters that are resolved, replayed or ignored, one open letter per record; runs
-- record their mode. Append-only: never edit a migration that has shipped; add the next number.

-- Identifies (key, payload) within a stream (see core/dead-letter-fold.ts); NULL on letters written
-- before this migration, which therefore never merge.
ALTER TABLE syncline_failed ADD COLUMN fingerprint TEXT;
-- How many times the record failed while its letter was open, and when it last did.
ALTER TABLE syncline_failed ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
ALTER TABLE syncline_failed ADD COLUMN last_seen_at TEXT;
-- When the letter stopped being open (resolved, replayed, ignored), and by which run.
ALTER TABLE syncline_failed ADD COLUMN resolved_at TEXT;
ALTER TABLE syncline_failed ADD COLUMN resolved_run_id TEXT;
-- The letter is a tombstone whose key could not be read; a replay applies it as a tombstone.
ALTER TABLE syncline_failed ADD COLUMN tombstone INTEGER NOT NULL DEFAULT 0;
UPDATE syncline_failed SET last_seen_at = created_at, tombstone = (reason LIKE 'tombstone: %');
-- Status may now also be `resolved`. One open letter per record:
CREATE UNIQUE INDEX syncline_failed_open_fingerprint ON syncline_failed (stream, fingerprint)
  WHERE status = 'open';
-- A commit resolves the open letters of the keys it applied.
CREATE INDEX syncline_failed_open_key ON syncline_failed (stream, key) WHERE status = 'open';

-- sync | reconcile | backfill | refresh | replay. Runs before this migration were syncs, or
-- reconciliations (their evidence says so).
ALTER TABLE syncline_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'sync';
UPDATE syncline_runs SET mode = 'reconcile'
  WHERE evidence IS NOT NULL AND json_valid(evidence) AND json_extract(evidence, '$.kind') = 'reconcile';
CREATE INDEX syncline_runs_stream_mode ON syncline_runs (stream, mode, started_at);
