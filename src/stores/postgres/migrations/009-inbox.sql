-- Issue 23: push sources (webhooks) write each accepted event here before answering 2xx, so an
-- event the provider was told we have is never lost; an ordinary run of its stream applies it later,
-- reading after its checkpoint (the last applied id). Append-only: never edit a migration that has
-- shipped; add the next number. Rows are never updated: appended once, deleted by pruning once
-- applied and older than the dedupe window.

CREATE TABLE syncline_inbox (
  -- The event's position. A sequence hands ids out when a row is written, not when it commits, so
  -- appends to a stream hold an advisory lock from drawing the id to COMMIT (postgres-inbox.ts):
  -- within a stream, ids increase in commit order and a reader tailing `id > afterId` skips none.
  id bigserial PRIMARY KEY,
  -- The stream it feeds.
  stream text NOT NULL,
  -- The provider's id of the event, or the body's hash: a redelivery has the same one.
  event_id text NOT NULL,
  -- When the receiver accepted it.
  received_at timestamptz NOT NULL,
  -- The headers the source needs later (lower-case names, no secrets), as an object.
  headers jsonb NOT NULL,
  -- The raw body, as UTF-8 text.
  body text NOT NULL,
  -- A redelivery is a duplicate, detected by this constraint (ON CONFLICT DO NOTHING).
  UNIQUE (stream, event_id)
);

-- A run reads its stream's events after its checkpoint, in id order.
CREATE INDEX syncline_inbox_stream_id ON syncline_inbox (stream, id);
