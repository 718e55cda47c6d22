-- Issue 25: `syncline run` processes sharing one PostgreSQL store form a cluster. Each registers
-- here and beats a heartbeat; a worker whose heartbeat is older than its timeout (by the database's
-- clock) is taken for dead by the others, which hand its jobs on and release its streams' leases.
-- `syncline workers` and `GET /v1/workers` list this table. Append-only: never edit a migration
-- that has shipped; add the next number.

CREATE TABLE syncline_workers (
  -- The worker's lease holder id (`host:pid:random:...`): its leases and its row share it.
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  -- The Syncline version and the newest store schema version it knows: a newer worker refuses to
  -- migrate the store beside live older ones (rolling upgrades).
  version text NOT NULL,
  schema_version integer NOT NULL,
  -- Runs at once on this worker (`sync.concurrency`).
  concurrency integer NOT NULL,
  started_at timestamptz NOT NULL,
  -- Set from the database's clock at each heartbeat.
  heartbeat_at timestamptz NOT NULL,
  -- Past `heartbeat_at + timeout_ms`, the worker is dead to the others.
  timeout_ms integer NOT NULL,
  -- The job queue's ids of this worker's job runners: what is unlocked when it is taken for dead.
  queue_workers text[] NOT NULL DEFAULT '{}',
  -- The jobs it runs now: [{ "job": "sync:orders", "mode": "sync", "startedAt": "..." }].
  running jsonb NOT NULL DEFAULT '[]'
);
