-- Issue 22: destinations write records into an external API and must remember, per record, the id
-- the API gave it and what was sent, so the next change of the key updates (or deletes) that
-- external record instead of creating another. Append-only: never edit a migration that has
-- shipped; add the next number. A row is written in the same transaction that moves the
-- destination's consumer offset ("confirm then checkpoint").

CREATE TABLE syncline_destination_map (
  -- The destination's name (its consumer is `destination:<name>`).
  destination TEXT NOT NULL,
  stream TEXT NOT NULL,
  -- The record's key in the stream.
  key TEXT NOT NULL,
  -- The id the external API gave the record.
  external_id TEXT NOT NULL,
  -- The hash of the payload last confirmed, so an unchanged record is not sent again.
  payload_hash TEXT NOT NULL,
  -- 'synced': the external record exists; 'deleted': the destination deleted it.
  status TEXT NOT NULL CHECK (status IN ('synced', 'deleted')),
  -- ISO-8601 UTC: the first confirmed write, kept by later ones; and the latest.
  first_synced_at TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (destination, stream, key)
);

-- Reverse lookups: which record an external id belongs to (webhooks, conflicts).
CREATE INDEX syncline_destination_map_external ON syncline_destination_map (destination, external_id);
