import type {
  ConfirmDestinationWrites,
  ConsumerOffset,
  DestinationMapping,
  DestinationMappingStatus,
  DestinationMapStore,
  DestinationWrite,
  StoreDestinationMappings,
} from '../../core/store.ts';
import type { StoreRuntime } from '../store-runtime.ts';
import { feed } from './sqlite-change-feed.ts';
import type { SqliteSession } from './sqlite-session.ts';

/** A `syncline_destination_map` row, as `lookupMappings` reads it. */
interface MappingRow {
  key: string;
  external_id: string;
  payload_hash: string;
  status: DestinationMappingStatus;
  first_synced_at: string;
  synced_at: string;
}

/** A new key's row, or an existing key's with its `first_synced_at` kept. */
const UPSERT_SQL = `INSERT INTO syncline_destination_map
  (destination, stream, key, external_id, payload_hash, status, first_synced_at, synced_at)
  VALUES (@destination, @stream, @key, @externalId, @payloadHash, @status, @at, @at)
  ON CONFLICT (destination, stream, key) DO UPDATE SET external_id = excluded.external_id,
    payload_hash = excluded.payload_hash, status = excluded.status, synced_at = excluded.synced_at`;

/**
 * Destinations' external ids in the SQLite store (`DestinationMapStore` in core/store.ts). A
 * confirmation writes its mappings and moves the consumer's offset with the change feed's own
 * acknowledgement (`SqliteChangeFeed.ackWithin`), in one `BEGIN IMMEDIATE` transaction.
 */
export class SqliteDestinationMap implements DestinationMapStore {
  readonly #runtime: StoreRuntime<SqliteSession>;

  constructor(runtime: StoreRuntime<SqliteSession>) {
    this.#runtime = runtime;
  }

  async lookupMappings(args: {
    destination: string;
    stream: string;
    keys: readonly string[];
  }): Promise<Map<string, DestinationMapping>> {
    const found = new Map<string, DestinationMapping>();
    if (args.keys.length === 0) return found;
    const rows = this.#runtime.guard(
      `read the mappings of destination "${args.destination}"`,
      args.stream,
      (s) =>
        s
          .sql<[string, string, string], MappingRow>(
            `SELECT key, external_id, payload_hash, status, first_synced_at, synced_at
            FROM syncline_destination_map
            WHERE destination = ? AND stream = ? AND key IN (SELECT value FROM json_each(?))`,
          )
          .all(args.destination, args.stream, JSON.stringify(args.keys)),
    );
    for (const row of rows) {
      found.set(row.key, {
        externalId: row.external_id,
        payloadHash: row.payload_hash,
        status: row.status,
        firstSyncedAt: row.first_synced_at,
        syncedAt: row.synced_at,
      });
    }
    return found;
  }

  async confirmDestinationWrites(args: ConfirmDestinationWrites): Promise<ConsumerOffset> {
    return this.#runtime.guard(`confirm the writes of destination "${args.destination}"`, undefined, (s) => {
      const confirm = s.db.transaction((): ConsumerOffset => {
        // The mappings first: a refused acknowledgement throws after them, rolling them back.
        upsertAll(s, args.destination, args.at, args.writes);
        return feed(s).ackWithin({ consumer: args.consumer, seq: args.seq, at: args.at });
      });
      return confirm.immediate();
    });
  }

  async storeDestinationMappings(args: StoreDestinationMappings): Promise<void> {
    if (args.writes.length === 0) return;
    this.#runtime.guard(`store the writes of destination "${args.destination}"`, undefined, (s) => {
      s.db.transaction(() => upsertAll(s, args.destination, args.at, args.writes)).immediate();
    });
  }

  async forgetMappings(args: { destination: string; stream?: string }): Promise<number> {
    return this.#runtime.guard(
      `forget the mappings of destination "${args.destination}"`,
      args.stream,
      (s) =>
        s
          .sql<[{ destination: string; stream: string | null }]>(
            `DELETE FROM syncline_destination_map
            WHERE destination = @destination AND (@stream IS NULL OR stream = @stream)`,
          )
          .run({ destination: args.destination, stream: args.stream ?? null }).changes,
    );
  }
}

/** Upserts the writes in order (a repeated key ends with its last write), inside the caller's transaction. */
function upsertAll(
  s: SqliteSession,
  destination: string,
  at: string,
  writes: readonly DestinationWrite[],
): void {
  const upsert = s.sql(UPSERT_SQL);
  for (const w of writes) {
    upsert.run({
      destination,
      stream: w.stream,
      key: w.key,
      externalId: w.externalId,
      payloadHash: w.payloadHash,
      status: w.status,
      at,
    });
  }
}
