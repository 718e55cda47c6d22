-- Issue 21: a finished run is a row of the change log too (kind 'run', key = the run id), so sinks
-- deliver "run finished" events in seq order after the run's changes. SQLite's kind column has no
-- check to widen; the version moves anyway, so a Syncline from before refuses this store rather
-- than read run rows as record changes. Append-only: never edit a migration that has shipped.
SELECT 1;
