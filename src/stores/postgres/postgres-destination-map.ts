import type {
  ConfirmDestinationWrites,
  ConsumerOffset,
  DestinationMapping,
  DestinationMappingStatus,
  DestinationMapStore,
  DestinationWrite,
  StoreDestinationMappings,
} from '../../core/store.ts';
import { acknowledge } from './postgres-change-feed.ts';
import type { PostgresQueries } from './postgres-queries.ts';
import { iso } from './postgres-rows.ts';

/** A `syncline_destination_map` row, as `lookupMappings` reads it. */
interface MappingRow {
  key: string;
  external_id: string;
  payload_hash: string;
  status: DestinationMappingStatus;
  first_synced_at: Date;
  synced_at: Date;
}

/**
 * The batch's rows in one statement; an existing key keeps its `first_synced_at`. One row per key:
 * PostgreSQL refuses an upsert that would touch a row twice, so `lastPerKey` dedupes first.
 */
const UPSERT_SQL = `INSERT INTO syncline_destination_map
  (destination, stream, key, external_id, payload_hash, status, first_synced_at, synced_at)
  SELECT $1, w.stream, w.key, w.external_id, w.payload_hash, w.status, $2::timestamptz, $2::timestamptz
  FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS w (stream, key, external_id, payload_hash, status)
  ON CONFLICT (destination, stream, key) DO UPDATE SET external_id = EXCLUDED.external_id,
    payload_hash = EXCLUDED.payload_hash, status = EXCLUDED.status, synced_at = EXCLUDED.synced_at`;

/** The writes with one per stream and key: the last, as applying them in order would leave. */
function lastPerKey(writes: readonly DestinationWrite[]): DestinationWrite[] {
  const last = new Map<string, DestinationWrite>();
  for (const w of writes) last.set(JSON.stringify([w.stream, w.key]), w);
  return [...last.values()];
}

/** The upsert of the writes (one row per key, the last), as text and values. */
function upsertQuery(destination: string, at: string, all: readonly DestinationWrite[]): [string, unknown[]] {
  const writes = lastPerKey(all);
  return [
    UPSERT_SQL,
    [
      destination,
      at,
      writes.map((w) => w.stream),
      writes.map((w) => w.key),
      writes.map((w) => w.externalId),
      writes.map((w) => w.payloadHash),
      writes.map((w) => w.status),
    ],
  ];
}

/**
 * Destinations' external ids in the PostgreSQL store (`DestinationMapStore` in core/store.ts). A
 * confirmation upserts its mappings and moves the consumer's offset with the change feed's own
 * acknowledgement (`acknowledge`) on one client, between BEGIN and COMMIT.
 */
export class PostgresDestinationMap implements DestinationMapStore {
  readonly #db: PostgresQueries;

  constructor(db: PostgresQueries) {
    this.#db = db;
  }

  async lookupMappings(args: {
    destination: string;
    stream: string;
    keys: readonly string[];
  }): Promise<Map<string, DestinationMapping>> {
    const found = new Map<string, DestinationMapping>();
    if (args.keys.length === 0) return found;
    const rows = await this.#db.query<MappingRow>(
      `reading the mappings of destination "${args.destination}"`,
      args.stream,
      `SELECT key, external_id, payload_hash, status, first_synced_at, synced_at
      FROM syncline_destination_map WHERE destination = $1 AND stream = $2 AND key = ANY($3::text[])`,
      [args.destination, args.stream, args.keys],
    );
    for (const row of rows) {
      found.set(row.key, {
        externalId: row.external_id,
        payloadHash: row.payload_hash,
        status: row.status,
        firstSyncedAt: iso(row.first_synced_at),
        syncedAt: iso(row.synced_at),
      });
    }
    return found;
  }

  async confirmDestinationWrites(args: ConfirmDestinationWrites): Promise<ConsumerOffset> {
    return this.#db.transaction(
      `confirming the writes of destination "${args.destination}"`,
      undefined,
      async (client) => {
        // The mappings first: a refused acknowledgement throws after them, and ROLLBACK undoes them.
        if (args.writes.length > 0)
          await client.query(...upsertQuery(args.destination, args.at, args.writes));
        return acknowledge(async (text, values) => (await client.query(text, values)).rows, {
          consumer: args.consumer,
          seq: args.seq,
          at: args.at,
        });
      },
    );
  }

  async storeDestinationMappings(args: StoreDestinationMappings): Promise<void> {
    if (args.writes.length === 0) return;
    // One statement: atomic on its own, no offset beside it.
    await this.#db.query(
      `storing the writes of destination "${args.destination}"`,
      undefined,
      ...upsertQuery(args.destination, args.at, args.writes),
    );
  }

  async forgetMappings(args: { destination: string; stream?: string }): Promise<number> {
    const [row] = await this.#db.query<{ deleted: number }>(
      `forgetting the mappings of destination "${args.destination}"`,
      args.stream,
      `WITH gone AS (
        DELETE FROM syncline_destination_map WHERE destination = $1 AND ($2::text IS NULL OR stream = $2)
        RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`,
      [args.destination, args.stream ?? null],
    );
    return row?.deleted ?? 0;
  }
}
