import pg from 'pg';
import type { Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { ConfigError, FatalError, TransientError } from '../../core/errors.ts';
import { encodeKey } from '../../core/key-codec.ts';
import type { InboxReader } from '../../core/push.ts';
import { redactUrl, scrubSecret } from '../../core/redact-url.ts';
import type { Logger } from '../../core/types.ts';
import { bigIntToLsn, compareLsn, lsnToBigInt } from './lsn.ts';
import { pgTextToJson, SESSION_OPTIONS } from './pg-text-values.ts';

/** One table of a slot's group: the stream it feeds and its key. */
export interface CaptureTable {
  readonly stream: string;
  readonly schema: string;
  readonly table: string;
  readonly keyFields: readonly string[];
  readonly onTruncate: 'tombstone' | 'ignore';
}

/**
 * A change as the capture writes it into the inbox of its table's stream (the event's body):
 * `r` a row of the snapshot, `c`/`u` an inserted/updated row, `d` a deleted key, `t` a truncate.
 * `lsn` is the commit's (the snapshot's consistent point for `r`).
 */
export type CaptureEvent =
  | { readonly op: 'r' | 'c' | 'u'; readonly lsn: string; readonly row: Record<string, unknown> }
  | { readonly op: 'd'; readonly lsn: string; readonly key: Record<string, unknown> }
  | { readonly op: 't'; readonly lsn: string };

/** What the capture reads its settings from. */
export interface CaptureSettings {
  readonly urlEnv: string;
  readonly slot: string;
  readonly publication: string;
  readonly snapshotPageSize: number;
}

/** What one catch-up is given by the run that asks for it. */
export interface CaptureContext {
  readonly inbox: InboxReader;
  readonly secret: (name: string) => string;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** How a catch-up ended: it read the slot up to the WAL's end at its start, or another process holds the slot. */
export type CaptureOutcome = { readonly kind: 'caught-up'; readonly lsn: string } | { readonly kind: 'busy' };

/** Events of a transaction written together (one store transaction where the group commit allows). */
const MAX_TRANSACTION_BUFFER = 5_000;
/** Events written and not yet durable before reading pauses (flow control). */
const MAX_PENDING_EVENTS = 20_000;
/** How often the slot hears of the durable position, and is asked for its own, while reading. */
const STATUS_INTERVAL_MS = 250;
/** Rows looked up per query when a new snapshot checks which stored keys it still has. */
const SWEEP_BATCH = 1_000;

/** The capture's own inbox stream: its generations (a slot and a snapshot each). */
export function stateStream(slot: string): string {
  return `_cdc_${slot}`;
}

/** The group state the capture keeps in its inbox stream. */
interface GroupState {
  readonly generation: number;
  readonly done: boolean;
  readonly streams: readonly string[];
  /** The inbox id of the generation's start: its events all come after it. */
  readonly startId: number;
}

/**
 * Reads one replication slot for the CDC streams that share it (one database, one slot, one
 * publication) and writes what it reads into the store's inbox, one inbox stream per table, before
 * it tells the slot: the slot's confirmed position never passes what the store holds durably, so a
 * kill re-reads at most what was not stored, and the inbox's `(stream, eventId)` uniqueness absorbs
 * the re-read (event ids are the commit's LSN and the change's place in it). The streams' runs then
 * apply their inbox through the ordinary path, with their inbox position (and its LSN) as checkpoint.
 *
 * The first catch-up creates the slot with an exported snapshot and reads every table in that
 * snapshot, paged by key, into the inbox (`r` events), then streams from the slot's consistent
 * point: no gap, no overlap. A snapshot that was interrupted (its process killed: the exported
 * snapshot ends with it), a slot that is gone (dropped, lost in a failover) or a table added to the
 * group starts a new generation: a new slot and snapshot, and a delete for each key the stream holds
 * (or was about to be given) that the new snapshot does not have, so nothing deleted meanwhile
 * survives.
 */
export class CdcCapture {
  readonly settings: CaptureSettings;
  readonly #tables = new Map<string, CaptureTable>();
  #running: Promise<CaptureOutcome> | null = null;

  constructor(settings: CaptureSettings) {
    this.settings = settings;
  }

  /** Adds (or replaces) a table of the group. */
  addTable(table: CaptureTable): void {
    this.#tables.set(table.stream, table);
  }

  tables(): CaptureTable[] {
    return [...this.#tables.values()].sort((a, b) => a.stream.localeCompare(b.stream));
  }

  /**
   * Reads the slot up to the WAL's end as it is now, into the inbox. Concurrent calls in one process
   * share one catch-up; another process reading the slot makes it `busy` (its changes land anyway).
   */
  catchUp(context: CaptureContext): Promise<CaptureOutcome> {
    if (!this.#running) {
      this.#running = this.#catchUp(context).finally(() => {
        this.#running = null;
      });
    }
    return this.#running;
  }

  async #catchUp(context: CaptureContext): Promise<CaptureOutcome> {
    const url = context.secret(this.settings.urlEnv);
    const fail = (error: unknown): never => {
      throw sourceError(error, url, this.settings);
    };
    const sql = sourceClient(sessionConfig(url));
    await sql.connect().catch(fail);
    try {
      await checkWalLevel(sql, this.settings.urlEnv);
      const tables = this.tables();
      await ensurePublication(sql, this.settings.publication, tables, context.log);
      const columns = await keyColumns(sql, tables);
      const slot = await slotState(sql, this.settings.slot);
      if (slot?.active) return { kind: 'busy' };
      const state = await readState(context.inbox, this.settings.slot);
      const streams = tables.map((t) => t.stream);
      const added = state ? streams.filter((s) => !state.streams.includes(s)) : [];
      if (!state?.done || !slot || added.length > 0) {
        if (state && !state.done) {
          context.log.warn(
            { slot: this.settings.slot, generation: state.generation },
            `cdc slot ${this.settings.slot}: the initial snapshot was interrupted and its exported snapshot ended with the process that held it; reading the tables again in a new snapshot`,
          );
        } else if (state && !slot) {
          context.log.warn(
            { slot: this.settings.slot },
            `cdc slot ${this.settings.slot} is gone (dropped, or lost in a failover): reading the tables again in a new snapshot, and deleting what it no longer has`,
          );
        } else if (added.length > 0) {
          context.log.info(
            { slot: this.settings.slot, added },
            `cdc slot ${this.settings.slot}: new tables (${added.join(', ')}); reading every table of the slot in a new snapshot`,
          );
        }
        const outcome = await this.#snapshot(
          url,
          sql,
          context,
          (state?.generation ?? 0) + 1,
          columns,
          !!slot,
        );
        if (outcome.kind === 'busy') return outcome;
      }
      return await this.#stream(url, sql, context);
    } catch (error) {
      return fail(error);
    } finally {
      await sql.end().catch(() => undefined);
    }
  }

  async #snapshot(
    url: string,
    sql: pg.Client,
    context: CaptureContext,
    generation: number,
    columns: Map<string, readonly string[]>,
    slotExists: boolean,
  ): Promise<CaptureOutcome> {
    const { slot } = this.settings;
    const { inbox, log } = context;
    if (slotExists) {
      const dropped = await sql.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
        [slot],
      );
      if (dropped.rowCount === 0) return { kind: 'busy' };
    }
    const replication = sourceClient({ ...sessionConfig(url), replication: 'database' } as pg.ClientConfig);
    await replication.connect();
    const reader = sourceClient(sessionConfig(url));
    try {
      let created: { consistent_point: string; snapshot_name: string };
      try {
        created = (
          await replication.query(`CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput (SNAPSHOT 'export')`)
        ).rows[0];
      } catch (error) {
        if ((error as { code?: string }).code === '42710') return { kind: 'busy' }; // made meanwhile elsewhere
        throw error;
      }
      const tables = this.tables();
      await addState(inbox, slot, `g${generation}:start`, {
        generation,
        consistentLsn: created.consistent_point,
        streams: tables.map((t) => t.stream),
      });
      log.info(
        { slot, generation, consistentLsn: created.consistent_point, tables: tables.length },
        `cdc slot ${slot}: reading ${tables.length} table(s) in the snapshot at ${created.consistent_point}`,
      );
      await reader.connect();
      await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await reader.query(`SET TRANSACTION SNAPSHOT '${created.snapshot_name}'`);
      const lsn = created.consistent_point;
      for (const table of tables) {
        const keys = columns.get(table.stream)!;
        const rows = await this.#readSnapshotTable(reader, table, keys, generation, lsn, context);
        if (generation > 1) {
          const deleted = await sweep(reader, inbox, table, keys, generation, lsn, context.signal);
          log.info(
            { slot, stream: table.stream, rows, deleted },
            `cdc slot ${slot}: ${table.stream}: ${rows} rows in the new snapshot, ${deleted} stored keys it no longer has deleted`,
          );
        }
        if (context.signal.aborted) throw context.signal.reason;
      }
      await reader.query('COMMIT');
      await addState(inbox, slot, `g${generation}:done`, { generation });
      return { kind: 'caught-up', lsn };
    } finally {
      await reader.end().catch(() => undefined);
      await replication.end().catch(() => undefined);
    }
  }

  async #readSnapshotTable(
    reader: pg.Client,
    table: CaptureTable,
    keys: readonly string[],
    generation: number,
    lsn: string,
    context: CaptureContext,
  ): Promise<number> {
    const name = qualified(table);
    const order = keys.map(quoteIdent).join(', ');
    let after: string[] | null = null;
    let ordinal = 0;
    for (;;) {
      if (context.signal.aborted) throw context.signal.reason;
      const where = after ? `WHERE (${order}) > (${keys.map((_, i) => `$${i + 1}`).join(', ')})` : '';
      const result = await reader.query({
        text: `SELECT * FROM ${name} ${where} ORDER BY ${order} LIMIT ${this.settings.snapshotPageSize}`,
        values: after ?? [],
      });
      if (result.rows.length === 0) return ordinal;
      const writes: Promise<unknown>[] = [];
      for (const raw of result.rows as Record<string, string | null>[]) {
        const row = rowFromText(raw, result.fields);
        writes.push(
          addEvent(context.inbox, table.stream, `s${generation}:${++ordinal}`, { op: 'r', lsn, row }),
        );
      }
      await Promise.all(writes);
      const last = result.rows.at(-1) as Record<string, string | null>;
      after = keys.map((k) => last[k] as string);
      if (result.rows.length < this.settings.snapshotPageSize) return ordinal;
    }
  }

  async #stream(url: string, sql: pg.Client, context: CaptureContext): Promise<CaptureOutcome> {
    const { slot, publication } = this.settings;
    const { inbox, log, signal } = context;
    const target = (await sql.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
    const start = await slotState(sql, slot);
    if (!start) throw new TransientError(`cdc slot ${slot} disappeared while starting to read it`);
    if (start.active) return { kind: 'busy' };
    if (compareLsn(start.confirmedLsn, target) >= 0) return { kind: 'caught-up', lsn: start.confirmedLsn };
    const byRelation = new Map<string, CaptureTable>();
    for (const table of this.tables()) byRelation.set(`${table.schema}.${table.table}`, table);

    // Loaded here, by the first stream that reads a slot (a CLI without one starts faster).
    const { LogicalReplicationService, PgoutputPlugin } = await import('pg-logical-replication');
    const service = new LogicalReplicationService(
      { ...sessionConfig(url) },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    const plugin = rawTextPgoutput(new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] }));
    let arrived = 0;
    const parse = plugin.parse.bind(plugin);
    plugin.parse = (buffer: Buffer) => {
      arrived++;
      return parse(buffer);
    };
    let processed = 0;
    /** The durable position: every transaction that ends at or before it is in the inbox. */
    let durable = start.confirmedLsn;
    let sent = '';
    let heartbeat: { lsn: string; upTo: number } | null = null;
    let transaction: { lsn: string; count: number; events: [string, string, CaptureEvent][] } | null = null;
    /** Inbox writes in commit order; `stored` once durable. `end`: the commit's end, for a whole transaction. */
    const pending: { end: string | null; size: number; done: Promise<unknown>; stored: boolean }[] = [];
    let pendingEvents = 0;
    let failure: unknown = null;
    let finish!: (outcome: CaptureOutcome) => void;
    let abort!: (error: unknown) => void;
    const finished = new Promise<CaptureOutcome>((resolve, reject) => {
      finish = resolve;
      abort = reject;
    });
    const sendStatus = (ping: boolean) => {
      if (durable === sent && !ping) return;
      sent = durable;
      // The library sends the LSN it is given plus one; the slot must confirm exactly `durable`.
      void service.acknowledge(bigIntToLsn(lsnToBigInt(durable) - 1n), ping).catch(() => undefined);
    };
    /** Moves `durable` past the writes stored so far, in order, without waiting on any. */
    const advance = () => {
      while (pending[0]?.stored) {
        const head = pending.shift()!;
        pendingEvents -= head.size;
        if (head.end && compareLsn(head.end, durable) > 0) durable = head.end;
      }
    };
    /** Waits for every write handed to the store, then moves `durable` past them. */
    const settle = async () => {
      await Promise.all(pending.map((p) => p.done));
      advance();
    };
    /** Caught up: nothing buffered or unwritten, and the slot has sent everything up to `target`. */
    const check = () => {
      if (transaction || pending.length > 0) return;
      if (heartbeat && processed >= heartbeat.upTo && compareLsn(heartbeat.lsn, durable) > 0) {
        durable = heartbeat.lsn;
      }
      if (compareLsn(durable, target) >= 0) finish({ kind: 'caught-up', lsn: durable });
    };
    const write = (events: [string, string, CaptureEvent][], end: string | null) => {
      const entry = { end, size: events.length, stored: false, done: Promise.resolve() as Promise<unknown> };
      entry.done = Promise.all(events.map(([stream, id, event]) => addEvent(inbox, stream, id, event))).then(
        () => {
          entry.stored = true;
        },
      );
      entry.done.catch((error) => {
        failure = error;
        abort(error);
      });
      pending.push(entry);
      pendingEvents += events.length;
    };
    service.on('data', async (_lsn: string, message: Pgoutput.Message) => {
      try {
        switch (message.tag) {
          case 'begin':
            transaction = { lsn: normalLsn(message.commitLsn ?? _lsn), count: 0, events: [] };
            break;
          case 'insert':
          case 'update':
          case 'delete':
          case 'truncate': {
            if (!transaction) break;
            for (const [stream, event] of changeEvents(message, byRelation, transaction.lsn)) {
              transaction.events.push([stream, `${transaction.lsn}:${++transaction.count}`, event]);
            }
            if (transaction.events.length >= MAX_TRANSACTION_BUFFER) {
              await fillUnchanged(sql, transaction.events, this.#tables);
              write(transaction.events, null);
              transaction.events = [];
            }
            break;
          }
          case 'commit': {
            if (!transaction) break;
            await fillUnchanged(sql, transaction.events, this.#tables);
            write(transaction.events, normalLsn(message.commitEndLsn ?? _lsn));
            transaction = null;
            break;
          }
          default:
            break;
        }
        if (pendingEvents > MAX_PENDING_EVENTS) {
          await pending[0]!.done; // flow control: the library holds the socket while this waits
        }
        advance();
      } catch (error) {
        failure = error;
        abort(error);
      } finally {
        processed++;
      }
      check();
    });
    service.on('heartbeat', (lsn: string) => {
      heartbeat = { lsn, upTo: arrived };
      check();
    });
    service.on('error', (error: Error) => abort(error));
    const onAbort = () => abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setInterval(() => {
      advance();
      check();
      sendStatus(true);
    }, STATUS_INTERVAL_MS);
    let started!: () => void;
    const ready = new Promise<void>((resolve) => {
      started = resolve;
    });
    let replicationClient: pg.Client | null = null;
    service.on('start', () => {
      replicationClient = (service as unknown as { _client: pg.Client | null })._client;
      started();
    });
    const subscribed = service
      .subscribe(plugin, slot, start.confirmedLsn)
      .catch((error: unknown) => abort(error))
      .finally(() => started());
    try {
      await Promise.race([ready, finished]);
      sendStatus(true);
      const outcome = await finished;
      await settle();
      sendStatus(false);
      log.debug({ slot, lsn: durable }, 'cdc slot read up to the end of the WAL');
      return outcome;
    } catch (error) {
      if ((error as { code?: string }).code === '55006') return { kind: 'busy' }; // in use elsewhere
      // What was written before the failure stays; the slot still confirms only what is durable.
      await settle().catch(() => undefined);
      if (failure === null) sendStatus(false);
      throw error;
    } finally {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      // Stopping before replication started would leave it to start afterwards: wait for either.
      await ready;
      await service.stop().catch(() => undefined);
      // The library drops its listeners at stop; an error its closed connection emits after must
      // not end the process.
      (replicationClient as pg.Client | null)?.on('error', () => undefined);
      await subscribed;
    }
  }
}

/**
 * Updated rows whose large (TOAST) values the update left unchanged arrive without them, unless the
 * table has `REPLICA IDENTITY FULL`: each such value is read from the table now (the row's current
 * value, which later events in the slot bring the record to anyway); a row gone since loses them,
 * and its delete follows in the slot.
 */
async function fillUnchanged(
  sql: pg.Client,
  events: readonly [string, string, CaptureEvent][],
  tables: ReadonlyMap<string, CaptureTable>,
): Promise<void> {
  for (const [stream, , event] of events) {
    if (event.op !== 'u' && event.op !== 'c') continue;
    const missing = Object.keys(event.row).filter((name) => event.row[name] === undefined);
    if (missing.length === 0) continue;
    const table = tables.get(stream)!;
    const found = await sql.query({
      text: `SELECT ${missing.map(quoteIdent).join(', ')} FROM ${qualified(table)} WHERE ${table.keyFields
        .map((k, i) => `${quoteIdent(k)}::text = $${i + 1}`)
        .join(' AND ')}`,
      values: table.keyFields.map((k) => String(event.row[k])),
    });
    const raw = found.rows[0] as Record<string, string | null> | undefined;
    for (const name of missing) {
      if (raw) {
        const field = found.fields.find((f) => f.name === name)!;
        event.row[name] = pgTextToJson(field.dataTypeID, raw[name] ?? null);
      } else {
        delete event.row[name];
      }
    }
  }
}

/** `00000000/0153C318` (as the library writes it) as `0/153C318`. */
function normalLsn(lsn: string): string {
  return bigIntToLsn(lsnToBigInt(lsn));
}

/** The inbox events one decoded change makes, for the tables of the group. */
function changeEvents(
  message:
    | Pgoutput.MessageInsert
    | Pgoutput.MessageUpdate
    | Pgoutput.MessageDelete
    | Pgoutput.MessageTruncate,
  byRelation: ReadonlyMap<string, CaptureTable>,
  lsn: string,
): [string, CaptureEvent][] {
  if (message.tag === 'truncate') {
    const out: [string, CaptureEvent][] = [];
    for (const relation of message.relations) {
      const table = byRelation.get(`${relation.schema}.${relation.name}`);
      if (table && table.onTruncate === 'tombstone') out.push([table.stream, { op: 't', lsn }]);
    }
    return out;
  }
  const relation = message.relation;
  const table = byRelation.get(`${relation.schema}.${relation.name}`);
  if (!table) return [];
  const types = new Map(relation.columns.map((c) => [c.name, c.typeOid]));
  const convert = (tuple: Record<string, unknown> | null): Record<string, unknown> | null => {
    if (!tuple) return null;
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(tuple)) {
      // An unchanged TOAST value (a large one) the update did not send, without the old row to take
      // it from: left undefined, read from the table before the event is written (`fillUnchanged`).
      out[name] =
        value === undefined ? undefined : pgTextToJson(types.get(name) ?? 25, value as string | null);
    }
    return out;
  };
  const keyOf = (tuple: Record<string, unknown>) => {
    const key: Record<string, unknown> = {};
    for (const field of table.keyFields) key[field] = tuple[field];
    return key;
  };
  if (message.tag === 'delete') {
    const old = convert(message.key ?? message.old)!;
    return [[table.stream, { op: 'd', lsn, key: keyOf(old) }]];
  }
  const row = convert(message.new)!;
  if (message.tag === 'insert') return [[table.stream, { op: 'c', lsn, row }]];
  const before = convert(message.key ?? message.old);
  const out: [string, CaptureEvent][] = [];
  if (before && encodeKey(before, table.keyFields) !== encodeKey(row, table.keyFields)) {
    out.push([table.stream, { op: 'd', lsn, key: keyOf(before) }]); // the primary key changed
  }
  out.push([table.stream, { op: 'u', lsn, row }]);
  return out;
}

/**
 * The pgoutput plugin with every column value left as the server's text, so `pgTextToJson` maps it
 * as it maps the snapshot's (the library would parse with pg's global parsers: timestamps into
 * millisecond Dates, losing microseconds).
 */
function rawTextPgoutput(plugin: PgoutputPlugin): PgoutputPlugin {
  const parser = (plugin as unknown as { parser: { readRelationColumn: (reader: unknown) => object } })
    .parser;
  const read = parser.readRelationColumn.bind(parser);
  parser.readRelationColumn = (reader) => ({ ...read(reader), parser: (raw: string) => raw });
  return plugin;
}

/**
 * A client of the source database. A connection that fails while idle (the server restarted, the
 * network dropped) emits `error` on the client, which would end the process without a listener:
 * the next query on it fails instead, and that failure is the run's.
 */
export function sourceClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  return client;
}

/** Every type as text (the mapping to JSON is `pgTextToJson`'s). */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

function sessionConfig(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    options: SESSION_OPTIONS,
    types: TEXT_TYPES,
    application_name: 'syncline-cdc',
    connectionTimeoutMillis: 10_000,
  };
}

function rowFromText(
  raw: Record<string, string | null>,
  fields: readonly pg.FieldDef[],
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const field of fields) row[field.name] = pgTextToJson(field.dataTypeID, raw[field.name] ?? null);
  return row;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function qualified(table: Pick<CaptureTable, 'schema' | 'table'>): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
}

async function checkWalLevel(sql: pg.Client, urlEnv: string): Promise<void> {
  const level = (await sql.query('SHOW wal_level')).rows[0].wal_level as string;
  if (level !== 'logical') {
    throw new FatalError(
      `the database of ${urlEnv} runs with wal_level=${level}; change data capture needs wal_level=logical: run ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart PostgreSQL`,
    );
  }
}

/** Creates the publication with the group's tables when absent; checks that a present one has them. */
async function ensurePublication(
  sql: pg.Client,
  publication: string,
  tables: readonly CaptureTable[],
  log: Logger,
): Promise<void> {
  const found = await sql.query(
    `SELECT p.puballtables::int AS alltables,
            to_json(array_remove(array_agg(t.schemaname || '.' || t.tablename), NULL))::text AS tables
       FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname
      WHERE p.pubname = $1 GROUP BY p.puballtables`,
    [publication],
  );
  if (found.rows.length === 0) {
    await sql.query(
      `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${tables.map(qualified).join(', ')}`,
    );
    log.info({ publication, tables: tables.map((t) => `${t.schema}.${t.table}`) }, 'cdc publication created');
    return;
  }
  const row = found.rows[0] as { alltables: string; tables: string };
  if (row.alltables === '1') return;
  const published = JSON.parse(row.tables) as string[];
  const missing = tables.filter((t) => !published.includes(`${t.schema}.${t.table}`));
  if (missing.length > 0) {
    const list = missing.map((t) => `${t.schema}.${t.table}`).join(', ');
    throw new ConfigError(
      `publication ${publication} does not publish ${list} (stream ${missing[0]!.stream}); run ALTER PUBLICATION ${publication} ADD TABLE ${list}, or name another publication`,
    );
  }
}

/**
 * The key columns of each table (its primary key, else its replica identity index), checked against
 * the stream's `key`: a stream keyed otherwise could not match the deletes the slot sends.
 */
async function keyColumns(
  sql: pg.Client,
  tables: readonly CaptureTable[],
): Promise<Map<string, readonly string[]>> {
  const out = new Map<string, readonly string[]>();
  for (const table of tables) {
    const found = await sql.query(
      `SELECT c.relreplident,
              (SELECT to_json(array_agg(a.attname ORDER BY k.ord))::text
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = c.oid AND (i.indisprimary OR (c.relreplident = 'i' AND i.indisreplident))
                GROUP BY i.indexrelid, i.indisprimary ORDER BY i.indisprimary LIMIT 1) AS keys
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [table.schema, table.table],
    );
    if (found.rows.length === 0) {
      throw new ConfigError(
        `stream "${table.stream}": table ${table.schema}.${table.table} does not exist in the source database`,
      );
    }
    const keys = found.rows[0].keys === null ? null : (JSON.parse(found.rows[0].keys as string) as string[]);
    if (!keys) {
      throw new ConfigError(
        `stream "${table.stream}": table ${table.schema}.${table.table} has no primary key; add one, or ALTER TABLE ... REPLICA IDENTITY USING INDEX <a unique index on NOT NULL columns>`,
      );
    }
    const want = [...table.keyFields].sort().join(',');
    if ([...keys].sort().join(',') !== want) {
      throw new ConfigError(
        `stream "${table.stream}": key ${table.keyFields.join(', ')} is not the key of ${table.schema}.${table.table} (its ${found.rows[0].relreplident === 'i' ? 'replica identity' : 'primary key'}: ${keys.join(', ')}); set key: ${keys.length === 1 ? keys[0] : `[${keys.join(', ')}]`}`,
      );
    }
    out.set(table.stream, keys);
  }
  return out;
}

/** The slot's state, or null when there is none. */
export async function slotState(
  sql: pg.Client,
  slot: string,
): Promise<{ confirmedLsn: string; active: boolean; lagBytes: number } | null> {
  const found = await sql.query(
    `SELECT confirmed_flush_lsn::text AS lsn, active,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  if (found.rows.length === 0) return null;
  const row = found.rows[0] as { lsn: string | null; active: string | boolean; lag: string | null };
  return {
    confirmedLsn: row.lsn ?? '0/0',
    active: row.active === true || row.active === 't',
    lagBytes: Number(row.lag ?? 0),
  };
}

/**
 * Where a stream without a checkpoint (a first run, or after `syncline reset`) starts in the inbox:
 * just before the latest generation (the latest snapshot and what followed it), not at the history
 * of earlier ones.
 */
export async function latestGenerationStart(inbox: InboxReader, slot: string): Promise<number> {
  return (await readState(inbox, slot))?.startId ?? 0;
}

/** The group's latest generation, from the capture's inbox stream; null before the first snapshot. */
async function readState(inbox: InboxReader, slot: string): Promise<GroupState | null> {
  let state: GroupState | null = null;
  let afterId = 0;
  for (;;) {
    const events = await inbox.readInbox({ stream: stateStream(slot), afterId, limit: 1000 });
    for (const event of events) {
      const body = JSON.parse(event.body) as { generation: number; streams?: string[] };
      if (event.eventId.endsWith(':start')) {
        state = { generation: body.generation, done: false, streams: body.streams ?? [], startId: event.id };
      } else if (event.eventId.endsWith(':done') && state !== null && state.generation === body.generation) {
        const started: GroupState = state;
        state = { ...started, done: true };
      }
    }
    if (events.length < 1000) return state;
    afterId = events.at(-1)!.id;
  }
}

async function addState(inbox: InboxReader, slot: string, id: string, body: object): Promise<void> {
  await inbox.addInboxEvent({
    stream: stateStream(slot),
    eventId: id,
    receivedAt: new Date().toISOString(),
    headers: {},
    body: JSON.stringify(body),
  });
}

function addEvent(inbox: InboxReader, stream: string, eventId: string, event: CaptureEvent) {
  return inbox.addInboxEvent({
    stream,
    eventId,
    receivedAt: new Date().toISOString(),
    headers: {},
    body: JSON.stringify(event),
  });
}

/**
 * After a new snapshot of a table: a delete for every key the stream holds live, or has waiting in
 * its inbox from an earlier generation, that the snapshot does not have (deleted while no slot was
 * reading). Returns how many.
 */
async function sweep(
  reader: pg.Client,
  inbox: InboxReader,
  table: CaptureTable,
  keys: readonly string[],
  generation: number,
  lsn: string,
  signal: AbortSignal,
): Promise<number> {
  let deleted = 0;
  const check = async (candidates: Record<string, unknown>[]) => {
    if (candidates.length === 0) return;
    const columns = keys.map((k) => candidates.map((c) => (c[k] === null ? null : String(c[k]))));
    const found = await reader.query({
      text: `SELECT ${keys.map((k) => `${quoteIdent(k)}::text AS ${quoteIdent(k)}`).join(', ')} FROM ${qualified(table)}
              WHERE (${keys.map((k) => `${quoteIdent(k)}::text`).join(', ')}) IN
                    (SELECT * FROM unnest(${keys.map((_, i) => `$${i + 1}::text[]`).join(', ')}))`,
      values: columns,
    });
    const present = new Set(
      found.rows.map((r: Record<string, string>) => keys.map((k) => r[k]).join('\u0000')),
    );
    const writes: Promise<unknown>[] = [];
    for (const candidate of candidates) {
      const text = keys.map((k) => String(candidate[k])).join('\u0000');
      if (present.has(text)) continue;
      present.add(text); // one delete per key
      const key: Record<string, unknown> = {};
      for (const k of keys) key[k] = candidate[k];
      writes.push(
        addEvent(inbox, table.stream, `x${generation}:${encodeKey(key, keys)}`, { op: 'd', lsn, key }),
      );
      deleted++;
    }
    await Promise.all(writes);
  };
  let afterKey: string | undefined;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const stored = await inbox.scanRecords(table.stream, {
      ...(afterKey !== undefined ? { afterKey } : {}),
      limit: SWEEP_BATCH,
    });
    await check(stored.filter((r) => r.deletedAt === null).map((r) => r.data as Record<string, unknown>));
    if (stored.length < SWEEP_BATCH) break;
    afterKey = stored.at(-1)!.key;
  }
  const current = `s${generation}:`;
  let afterId = 0;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const events = await inbox.readInbox({ stream: table.stream, afterId, limit: SWEEP_BATCH });
    const candidates: Record<string, unknown>[] = [];
    for (const event of events) {
      if (event.eventId.startsWith(current) || event.eventId.startsWith(`x${generation}:`)) continue;
      const body = JSON.parse(event.body) as CaptureEvent;
      if (body.op === 'r' || body.op === 'c' || body.op === 'u') candidates.push(body.row);
    }
    await check(candidates);
    if (events.length < SWEEP_BATCH) break;
    afterId = events.at(-1)!.id;
  }
  return deleted;
}

/** A failure talking to the source database, without its URL's password, classified. */
function sourceError(error: unknown, url: string, settings: CaptureSettings): Error {
  if (error instanceof FatalError || error instanceof TransientError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = scrubSecret(
    error instanceof Error ? error.message : String(error),
    (() => {
      try {
        return new URL(url).password;
      } catch {
        return '';
      }
    })(),
  );
  const where = `cdc slot ${settings.slot} (${redactUrl(url)})`;
  // Connection failures, shutdowns and resource limits pass; privilege and definition errors, and
  // anything that is not the server's or the network's, do not.
  const fromServer = typeof (error as { severity?: unknown }).severity === 'string';
  const network =
    !fromServer &&
    (/^E[A-Z]+$/.test(code) || /connection terminated|timeout/i.test(String((error as Error)?.message)));
  if (
    network ||
    (fromServer && code.startsWith('08')) ||
    code.startsWith('57') ||
    code.startsWith('53') ||
    code === '40001' ||
    code === '55006'
  ) {
    return new TransientError(`${where}: ${message}`);
  }
  return new FatalError(
    `${where}: ${message}${code === '42501' ? ' (the user needs the REPLICATION attribute, or to own the tables)' : ''}`,
  );
}
