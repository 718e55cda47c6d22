-- Version regressions a run applied (`onVersionRegression: 'accept'`); also counted as updated or deleted.
-- Append-only: never edit a migration that has shipped; add the next number instead.
ALTER TABLE syncline_runs ADD COLUMN regressed bigint NOT NULL DEFAULT 0;
