-- The operator's actions (the action log): each sync or reconcile triggered, approval, reset,
-- replay, ignore, sink resumed or replayed, by the API, the dashboard or the CLI, shown beside the
-- runs they led to. Rows are appended once and never updated. Append-only: never edit a migration
-- that has shipped; add the next number. (PostgreSQL's copy of this table is its migration 013.)

CREATE TABLE syncline_actions (
  -- Increasing in the order actions were recorded.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- ISO-8601 UTC: when the action was done.
  at TEXT NOT NULL,
  -- The stream acted on; NULL for an action on a sink or destination.
  stream TEXT,
  -- The sink or destination acted on, NULL otherwise.
  target TEXT,
  -- sync, reconcile, approve, reset, replay, ignore, resume_sink, replay_sink.
  action TEXT NOT NULL,
  -- api, dashboard or cli.
  origin TEXT NOT NULL,
  -- One line: what the action answered.
  detail TEXT NOT NULL
);

-- A stream's history reads its newest actions.
CREATE INDEX syncline_actions_stream_id ON syncline_actions (stream, id);
