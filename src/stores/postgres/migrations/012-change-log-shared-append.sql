-- Scale-out: commits of different streams no longer queue behind one lock to append to the change
-- log. Until now every append held the schema's advisory lock `syncline:changes:<schema>`
-- EXCLUSIVELY from drawing its seqs to COMMIT, so seqs became visible in order; with several
-- `syncline run` workers on one server the commits of every stream waited on each other, COMMIT's
-- WAL flush included (bench section `changelog`: 4 writer processes committed fewer pages than 1).
--
-- Now every statement that appends takes that lock SHARED before it draws a seq, and holds it to
-- the end of its transaction: appends never wait on each other, and a reader can tell which appends
-- are in flight (pg_locks). A reader (postgres-change-feed.ts) passes a seq only once every append
-- that held the lock when the seq was the newest has ended: then nothing can still commit below it.
-- A trigger, so every statement that appends holds it whichever code path (page, run row, scan)
-- or binary wrote it; a writer of an older binary, still running, takes the same lock exclusively,
-- which the shared holders exclude and readers see as well.
-- Numbered 012: 010 (workers) and 011 (shared rate buckets) came with the same release.

CREATE FUNCTION syncline_change_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(hashtextextended(TG_ARGV[0], 0));
  RETURN NULL;
END
$$;

-- The lock key names the schema, as writers and readers spell it.
DO $$
BEGIN
  EXECUTE format(
    'CREATE TRIGGER syncline_change_append BEFORE INSERT ON syncline_changes '
    'FOR EACH STATEMENT EXECUTE FUNCTION syncline_change_append(%L)',
    'syncline:changes:' || current_schema());
END
$$;
