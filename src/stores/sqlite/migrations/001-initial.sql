-- Syncline's system tables. Stream tables are created by `ensureStream`, one per stream.
-- Timestamps are ISO-8601 UTC text exactly as the caller gave them; JSON columns hold JSON text.

-- One row per stream: where to resume, who may write it, and conditional-request validators.
CREATE TABLE syncline_state (
  stream TEXT PRIMARY KEY,
  -- The stream's checkpoint as JSON; NULL means "start from the beginning".
  checkpoint TEXT,
  -- The newest cursor value ever committed, for lag.
  newest_cursor TEXT,
  lease_holder TEXT,
  -- Fencing token: incremented on every grant to a new holder or after expiry.
  lease_epoch INTEGER NOT NULL DEFAULT 0,
  lease_expires_at TEXT,
  -- ETag / Last-Modified validators as JSON, for conditional requests.
  validators TEXT,
  -- When the checkpoint last changed (commit, reset) or the row was created; leases leave it alone.
  updated_at TEXT NOT NULL
);

-- One row per run, with its counters (one column per name of COUNTER_NAMES, snake_case).
CREATE TABLE syncline_runs (
  run_id TEXT PRIMARY KEY,
  stream TEXT NOT NULL REFERENCES syncline_state (stream),
  -- running | ok | failed | interrupted | partial
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  checkpoint_before TEXT,
  checkpoint_after TEXT,
  error TEXT,
  pages INTEGER NOT NULL DEFAULT 0,
  fetched INTEGER NOT NULL DEFAULT 0,
  inserted INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  stale INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  retries INTEGER NOT NULL DEFAULT 0,
  api_calls INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  throttled INTEGER NOT NULL DEFAULT 0,
  wait_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX syncline_runs_stream_started ON syncline_runs (stream, started_at);

-- The change log and outbox. AUTOINCREMENT so a seq is never reused, even after the newest rows
-- are deleted by compaction: sinks store the last seq they passed.
CREATE TABLE syncline_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  key TEXT NOT NULL,
  -- insert | update | delete
  kind TEXT NOT NULL,
  hash TEXT NOT NULL,
  version TEXT,
  run_id TEXT NOT NULL,
  at TEXT NOT NULL
);

-- Dead-lettered records and writes.
CREATE TABLE syncline_failed (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL REFERENCES syncline_state (stream),
  run_id TEXT NOT NULL,
  -- The encoded key, when one could be extracted.
  key TEXT,
  reason TEXT NOT NULL,
  -- The raw record as received (JSON text).
  payload TEXT NOT NULL,
  -- open | replayed | ignored
  status TEXT NOT NULL DEFAULT 'open',
  created_at TEXT NOT NULL
);
CREATE INDEX syncline_failed_stream_status ON syncline_failed (stream, status);
