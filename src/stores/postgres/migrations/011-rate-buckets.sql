-- Shared rate limits: a source host's `rateLimit: { shared: true }` is one token bucket for every
-- process using this store, rather than one per process (N workers would otherwise send N times the
-- rate). One row per key (the host). The bucket is refilled by the database's clock, never a
-- client's, so workers whose clocks disagree still agree on it; the rate and burst come with each
-- reservation (the stream's config), so nothing here needs editing when a config changes.
-- Numbered 011: 010 is taken by another change. Append-only: never edit a migration that has
-- shipped; add the next number.

CREATE TABLE syncline_rate_buckets (
  -- The limiter's key: the API's host.
  key text PRIMARY KEY,
  -- Tokens left after the last reservation; negative when callers took tokens ahead of the refill
  -- (they wait their turn: the debt over the rate).
  tokens double precision NOT NULL,
  -- When `tokens` was last computed, by the database's clock.
  updated_at timestamptz NOT NULL
);
