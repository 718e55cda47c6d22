-- Issue 21: events a sink's target refused for good are dead letters too, in syncline_failed, with
-- the sink that refused them. Append-only: never edit a migration that has shipped; add the next number.

-- NULL: a record the engine could not apply (replayed by `syncline failed replay`, resolved when a
-- commit applies the key). Else the sink's name: the payload is the event (JSON), which no replay
-- applies as a record and no commit resolves.
ALTER TABLE syncline_failed ADD COLUMN sink text;
