-- The operator's actions (the action log): each sync or reconcile triggered, approval, reset,
-- replay, ignore, sink resumed or replayed, by the API, the dashboard or the CLI, shown beside the
-- runs they led to. Rows are appended once and never updated. Append-only: never edit a migration
-- that has shipped; add the next number. (SQLite's copy of this table is its migration 010.)

CREATE TABLE syncline_actions (
  -- Increasing in the order actions were recorded.
  id bigserial PRIMARY KEY,
  -- When the action was done.
  at timestamptz NOT NULL,
  -- The stream acted on; NULL for an action on a sink or destination.
  stream text,
  -- The sink or destination acted on, NULL otherwise.
  target text,
  -- sync, reconcile, approve, reset, replay, ignore, resume_sink, replay_sink.
  action text NOT NULL,
  -- api, dashboard or cli.
  origin text NOT NULL,
  -- One line: what the action answered.
  detail text NOT NULL
);

-- A stream's history reads its newest actions.
CREATE INDEX syncline_actions_stream_id ON syncline_actions (stream, id);
