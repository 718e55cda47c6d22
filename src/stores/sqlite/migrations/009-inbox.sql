-- Issue 23: push sources (webhooks) write each accepted event here before answering 2xx, so an
-- event the provider was told we have is never lost; an ordinary run of its stream applies it later,
-- reading after its checkpoint (the last applied id). Append-only: never edit a migration that has
-- shipped; add the next number. Rows are never updated: appended once, deleted by pruning once
-- applied and older than the dedupe window.

CREATE TABLE syncline_inbox (
  -- The event's position: increasing in commit order (one writer at a time in SQLite).
  -- AUTOINCREMENT so an id is never reused, even after the newest rows are pruned: a run's
  -- checkpoint is an id, and a reused one would be skipped as applied.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  -- The stream it feeds.
  stream TEXT NOT NULL,
  -- The provider's id of the event, or the body's hash: a redelivery has the same one.
  event_id TEXT NOT NULL,
  -- ISO-8601 UTC: when the receiver accepted it.
  received_at TEXT NOT NULL,
  -- JSON object of the headers the source needs later (lower-case names, no secrets).
  headers TEXT NOT NULL,
  -- The raw body, as UTF-8 text.
  body TEXT NOT NULL,
  -- A redelivery is a duplicate, detected by this constraint (ON CONFLICT DO NOTHING).
  UNIQUE (stream, event_id)
);

-- A run reads its stream's events after its checkpoint, in id order.
CREATE INDEX syncline_inbox_stream_id ON syncline_inbox (stream, id);
