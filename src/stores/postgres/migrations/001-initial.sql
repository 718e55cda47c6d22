-- Syncline's system tables. Stream tables ("<stream>") are created by ensureStream.
-- Append-only: never edit a migration that has shipped; add the next number instead.

-- Per stream: resume state, lease (holder + fencing epoch) and conditional-request validators.
CREATE TABLE syncline_state (
  stream text PRIMARY KEY,
  -- The stream's own JSON; NULL means "start from the beginning".
  checkpoint jsonb,
  newest_cursor text,
  lease_holder text,
  -- Incremented by every grant to a new holder or after expiry; every commit is fenced by it.
  lease_epoch bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  -- ETag / Last-Modified of the source, for conditional requests (later use).
  validators jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per run: status and counters (see RunCounters in core/types.ts).
CREATE TABLE syncline_runs (
  run_id text PRIMARY KEY,
  stream text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted', 'partial')),
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  checkpoint_before jsonb,
  checkpoint_after jsonb,
  error text,
  pages bigint NOT NULL DEFAULT 0,
  fetched bigint NOT NULL DEFAULT 0,
  inserted bigint NOT NULL DEFAULT 0,
  updated bigint NOT NULL DEFAULT 0,
  unchanged bigint NOT NULL DEFAULT 0,
  stale bigint NOT NULL DEFAULT 0,
  deleted bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  retries bigint NOT NULL DEFAULT 0,
  api_calls bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  throttled bigint NOT NULL DEFAULT 0,
  wait_ms bigint NOT NULL DEFAULT 0
);
CREATE INDEX syncline_runs_stream_started ON syncline_runs (stream, started_at);

-- The change log and outbox: one row per insert/update/delete, seq strictly increasing in commit
-- order (commits append under an advisory lock, see postgres-page-commit.ts).
CREATE TABLE syncline_changes (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream text NOT NULL,
  key text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('insert', 'update', 'delete')),
  hash text NOT NULL,
  version text,
  run_id text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX syncline_changes_stream_seq ON syncline_changes (stream, seq);

-- Dead letters: records that could not be applied, with why and the raw payload.
CREATE TABLE syncline_failed (
  id bigserial PRIMARY KEY,
  stream text NOT NULL,
  run_id text NOT NULL,
  key text,
  reason text NOT NULL,
  payload text NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'ignored')),
  created_at timestamptz NOT NULL
);
CREATE INDEX syncline_failed_stream_status ON syncline_failed (stream, status);
