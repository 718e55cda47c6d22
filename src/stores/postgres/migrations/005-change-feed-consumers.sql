-- Issue 19: consumers of the change log keep a named offset; retention never deletes a row one of
-- them has not passed. Append-only: never edit a migration that has shipped; add the next number.
-- The change log holds no record data: a reader joins each row to its stream's table (the key's
-- latest state), so commits write nothing more than before.

-- One row per named consumer (`syncline changes --consumer`, `changes({ consumer })`).
CREATE TABLE syncline_consumers (
  name text PRIMARY KEY,
  -- The highest seq of syncline_changes the consumer acknowledged; it reads the rows after it.
  -- Moved only by an acknowledgement, and never backwards.
  acked_seq bigint NOT NULL CHECK (acked_seq >= 0),
  registered_at timestamptz NOT NULL,
  -- When acked_seq last moved.
  updated_at timestamptz NOT NULL
);
