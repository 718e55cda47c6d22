import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ConfigError, FatalError } from '../../core/errors.ts';
import { formatBytes, parseSize } from '../../core/format-bytes.ts';
import { encodeKey } from '../../core/key-codec.ts';
import type { Page, SourceArgs, Tombstone } from '../../core/source.ts';
import type { CaptureControl, CaptureStatus, StreamDefinition } from '../../core/stream-definition.ts';
import type { Checkpoint } from '../../core/types.ts';
import {
  type CaptureEvent,
  type CaptureTable,
  CdcCapture,
  latestGenerationStart,
  slotState,
  sourceClient,
} from './cdc-capture.ts';
import type { CdcStreamConfig } from './cdc-stream-config.ts';
import { validateCdcStream } from './cdc-stream-schema.ts';
import { pgTextToJson, SESSION_OPTIONS } from './pg-text-values.ts';

/** Inbox events applied per page by default. */
const PAGE_SIZE = 1_000;
const SNAPSHOT_PAGE_SIZE = 5_000;
const DEFAULT_MAX_LAG = 1024 ** 3;
/** How often a run applying the inbox looks again while the slot is still being read into it. */
const CAPTURE_POLL_MS = 50;

/**
 * Where a CDC stream's sync is: the id of the last inbox event it applied and that change's LSN;
 * `truncate` while it deletes what a TRUNCATE emptied (the stored keys after `afterKey`).
 */
type CdcCheckpoint = {
  readonly inbox: number;
  readonly lsn: string | null;
  readonly truncate?: { readonly id: number; readonly afterKey: string | null };
};

/** The captures of this process, one per (database, slot): the streams of a slot share it. */
const captures = new Map<string, CdcCapture>();

/**
 * A change data capture stream (`cdc.stream({...})`, or `type: cdc` in YAML/JSON): one table of a
 * PostgreSQL database, read through a logical replication slot (pgoutput) that the streams naming
 * the same `urlEnv` and `slot` share. A sync first reads the slot up to the WAL's end into the
 * store's inbox (see `CdcCapture`), then applies its table's changes from there, in commit order:
 * rows as records, deletes as tombstones, a TRUNCATE as `onTruncate` says. A reconciliation reads the
 * table as it is now (paged by key), and the engine deletes what it no longer has.
 */
export function cdcStream<R extends object>(config: CdcStreamConfig<R>): StreamDefinition<R> {
  validateCdcStream(config);
  const keyFields = (Array.isArray(config.key) ? config.key : [config.key]) as string[];
  const cdc = config.cdc;
  const [schema, table] = cdc.table.includes('.') ? cdc.table.split('.', 2) : ['public', cdc.table];
  const slot = cdc.slot ?? 'syncline';
  const publication = cdc.publication ?? 'syncline';
  const groupKey = `${cdc.urlEnv}\u0000${slot}`;
  let capture = captures.get(groupKey);
  if (!capture) {
    capture = new CdcCapture({
      urlEnv: cdc.urlEnv,
      slot,
      publication,
      snapshotPageSize: cdc.snapshotPageSize ?? SNAPSHOT_PAGE_SIZE,
    });
    captures.set(groupKey, capture);
  } else if (capture.settings.publication !== publication) {
    throw new ConfigError(
      `stream "${config.name}": cdc.publication ${publication} differs from ${capture.settings.publication}, which another stream of slot ${slot} reads; streams of one slot share its publication`,
    );
  }
  const captureTable: CaptureTable = {
    stream: config.name,
    schema: schema!,
    table: table!,
    keyFields,
    onTruncate: cdc.onTruncate ?? 'tombstone',
  };
  capture.addTable(captureTable);
  const group = capture;
  const maxLagBytes = parseSize(cdc.maxSlotLag ?? DEFAULT_MAX_LAG);
  const { cdc: _cdc, pageSize: _pageSize, ...shared } = config;
  return {
    ...shared,
    // The source is a database of one's own: a mass change there is real, not an API's backfill.
    // The breaker records its evidence and applies it, unless the stream configures otherwise.
    backfill: config.backfill ?? 'auto',
    source: (args) => readCdcStream(config as unknown as CdcStreamConfig<object>, group, captureTable, args),
    capture: slotControl(cdc.urlEnv, slot, maxLagBytes),
    sourceInfo: {
      kind: 'cdc',
      reads: `${schema}.${table} from $${cdc.urlEnv} (slot ${slot}, publication ${publication})`,
      incremental: 'logical replication (pgoutput) from the slot',
      secrets: [cdc.urlEnv],
    },
  };
}

async function* readCdcStream(
  config: CdcStreamConfig<object>,
  capture: CdcCapture,
  table: CaptureTable,
  args: SourceArgs,
): AsyncGenerator<Page<unknown>> {
  const mode = args.request.mode;
  if (mode === 'reconcile') {
    yield* readTableNow(config, table, args);
    return;
  }
  if (mode !== 'sync') {
    throw new FatalError(
      `stream "${config.name}": a cdc stream has no ${mode}: its slot delivers every change; run syncline reconcile ${config.name} to compare with the table as it is now`,
      { stream: config.name },
    );
  }
  const inbox = args.inbox;
  if (!inbox) {
    // Without a store (`syncline check --probe`): the table as it is now, making no slot.
    yield* readTableNow(config, table, args);
    return;
  }
  // The slot is read into the inbox while this run applies what is there already: the two overlap,
  // and the run ends once the read is done and the inbox applied to its end.
  let captured = false;
  const catchUp = capture
    .catchUp({ inbox, secret: args.secret, log: args.log, signal: args.signal })
    .then((outcome) => {
      if (outcome.kind === 'busy') {
        args.log.info(
          { stream: config.name, slot: capture.settings.slot },
          'another process is reading the cdc slot; applying what it has captured',
        );
      }
    })
    .finally(() => {
      captured = true;
    });
  catchUp.catch(() => undefined); // observed below
  const from = args.checkpoint as unknown as CdcCheckpoint | null;
  // A first run, or one after a reset, starts from the latest snapshot on (which this catch-up
  // makes when there is none, or when a reset dropped the slot), not the history before it.
  let position: CdcCheckpoint =
    from ??
    (await catchUp.then(async () => ({
      inbox: await latestGenerationStart(inbox, capture.settings.slot),
      lsn: null,
    })));
  // Commits this run made: a TRUNCATE waits for the pages before it to be stored before it reads
  // the stored keys it deletes.
  let committed = (args.checkpoint as unknown as CdcCheckpoint | null)?.inbox ?? 0;
  const waiters: { id: number; resolve: () => void }[] = [];
  args.onCommitted?.((checkpoint) => {
    committed = Math.max(committed, (checkpoint as unknown as CdcCheckpoint).inbox);
    for (const waiter of waiters.splice(0)) {
      if (committed >= waiter.id) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  const storedUpTo = (id: number) =>
    committed >= id ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ id, resolve }));

  const pageSize = config.pageSize ?? PAGE_SIZE;
  for (;;) {
    if (args.signal.aborted) return;
    if (position.truncate) {
      // Deleting what a TRUNCATE emptied: the stored live keys, a page at a time.
      const { id, afterKey } = position.truncate;
      const stored = await inbox.scanRecords(table.stream, {
        ...(afterKey !== null ? { afterKey } : {}),
        limit: pageSize,
      });
      const tombstones: Tombstone[] = stored
        .filter((r) => r.deletedAt === null)
        .map((r) => ({ key: r.data, deletedAt: null }));
      position =
        stored.length < pageSize
          ? { inbox: id, lsn: position.lsn }
          : { ...position, truncate: { id, afterKey: stored.at(-1)!.key } };
      yield { records: [], tombstones, checkpoint: position as unknown as Checkpoint };
      continue;
    }
    const done = captured;
    const events = await inbox.readInbox({ stream: table.stream, afterId: position.inbox, limit: pageSize });
    if (events.length === 0) {
      if (done) {
        await catchUp; // its failure, if it failed, is the run's
        return;
      }
      await Promise.race([catchUp.catch(() => undefined), sleep(CAPTURE_POLL_MS)]);
      continue;
    }
    const records: unknown[] = [];
    const tombstones: Tombstone[] = [];
    const deleted = new Set<string>();
    let next: CdcCheckpoint = position;
    for (const stored of events) {
      const event = JSON.parse(stored.body) as CaptureEvent;
      if (event.op === 't') {
        if (records.length > 0 || tombstones.length > 0) break; // the truncate starts the next page
        await storedUpTo(position.inbox);
        next = { inbox: position.inbox, lsn: event.lsn, truncate: { id: stored.id, afterKey: null } };
        break;
      }
      if (event.op === 'd') {
        tombstones.push({ key: event.key, deletedAt: null });
        deleted.add(encodeKey(event.key, table.keyFields));
      } else {
        if (deleted.has(encodeKey(event.row, table.keyFields))) break; // made again after its delete
        records.push(event.row);
      }
      next = { inbox: stored.id, lsn: event.lsn };
    }
    position = next;
    if (records.length > 0 || tombstones.length > 0) {
      yield { records, tombstones, checkpoint: position as unknown as Checkpoint };
    }
  }
}

/** A reconciliation: the table as it is now, paged by key; the engine deletes what it no longer has. */
async function* readTableNow(
  config: CdcStreamConfig<object>,
  table: CaptureTable,
  args: SourceArgs,
): AsyncGenerator<Page<unknown>> {
  const sql = sourceClient({
    connectionString: args.secret(config.cdc.urlEnv),
    options: SESSION_OPTIONS,
    types: { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig,
    application_name: 'syncline-cdc',
    connectionTimeoutMillis: 10_000,
  });
  await sql.connect();
  try {
    const name = `"${table.schema}"."${table.table}"`;
    const keys = table.keyFields.map((k) => `"${k.replaceAll('"', '""')}"`);
    const pageSize = config.cdc.snapshotPageSize ?? SNAPSHOT_PAGE_SIZE;
    let after = (args.checkpoint as { after?: string[] } | null)?.after ?? null;
    for (;;) {
      if (args.signal.aborted) return;
      const result = await sql.query({
        text: `SELECT * FROM ${name} ${after ? `WHERE (${keys.join(', ')}) > (${keys.map((_, i) => `$${i + 1}`).join(', ')})` : ''} ORDER BY ${keys.join(', ')} LIMIT ${pageSize}`,
        values: after ?? [],
      });
      if (result.rows.length === 0) return;
      const records = (result.rows as Record<string, string | null>[]).map((raw) => {
        const row: Record<string, unknown> = {};
        for (const field of result.fields)
          row[field.name] = pgTextToJson(field.dataTypeID, raw[field.name] ?? null);
        return row;
      });
      const last = result.rows.at(-1) as Record<string, string>;
      after = table.keyFields.map((k) => last[k]!);
      yield { records, checkpoint: { after } };
      if (result.rows.length < pageSize) return;
    }
  } finally {
    await sql.end().catch(() => undefined);
  }
}

/** Status and drop of one slot, for the operator's commands. */
function slotControl(urlEnv: string, slot: string, maxLagBytes: number): CaptureControl {
  const connect = async (secret: (name: string) => string) => {
    const sql = sourceClient({ connectionString: secret(urlEnv), connectionTimeoutMillis: 10_000 });
    await sql.connect();
    return sql;
  };
  return {
    slot,
    async status(secret): Promise<CaptureStatus> {
      const sql = await connect(secret);
      try {
        const state = await slotState(sql, slot);
        const lagBytes = state?.lagBytes ?? null;
        return {
          slot,
          exists: state !== null,
          active: state?.active ?? false,
          lagBytes,
          confirmedLsn: state?.confirmedLsn ?? null,
          maxLagBytes,
          warning:
            lagBytes !== null && lagBytes > maxLagBytes
              ? `cdc slot ${slot} holds ${formatBytes(lagBytes)} of WAL on the source (more than ${formatBytes(maxLagBytes)}): run its streams, or drop it with syncline cdc drop-slot`
              : null,
        };
      } finally {
        await sql.end().catch(() => undefined);
      }
    },
    async drop(secret) {
      const sql = await connect(secret);
      try {
        const state = await slotState(sql, slot);
        if (!state) return false;
        if (state.active) {
          throw new FatalError(
            `cdc slot ${slot} is being read by a process now (a running syncline?); stop it, then drop the slot`,
          );
        }
        await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
        return true;
      } finally {
        await sql.end().catch(() => undefined);
      }
    },
  };
}
