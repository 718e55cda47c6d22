import { contentHash } from '../../core/canonical-json.ts';
import type { FeedEvent } from '../../core/feed-change.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import type { DestinationMapping, DestinationWrite } from '../../core/store.ts';
import type { Json } from '../../core/types.ts';
import type { HttpDestinationClient, WriteContext } from './http-destination-client.ts';
import { idempotencyKey, type RecordMap } from './record-map.ts';

/**
 * What a destination does with the changes it gets:
 * - `upsert` (default): creates what has no object yet (after `find`), updates the rest;
 * - `update-only`: updates objects it knows or finds, creates nothing;
 * - `create-only`: creates objects for keys it has none for, never changes one;
 * - `mirror`: as `upsert`, and a deleted record's object is deleted too.
 */
export type DestinationMode = 'upsert' | 'update-only' | 'create-only' | 'mirror';

/** A row of the external-ID map as the destination reads it. */
export type KnownMapping = Pick<DestinationMapping, 'externalId' | 'payloadHash' | 'status'>;

export interface DestinationSinkOptions {
  readonly name: string;
  readonly mode: DestinationMode;
  readonly map: RecordMap;
  readonly client: HttpDestinationClient;
  /** The map rows of `keys` of `stream` (the store's `lookupMappings`). */
  lookup(stream: string, keys: readonly string[]): Promise<ReadonlyMap<string, KnownMapping>>;
  /** Keys written at once (each key's changes stay in order). Default 4. */
  readonly concurrency?: number;
}

/**
 * A destination as a sink: for each change, the mapped payload goes to the API as a create, an
 * update, a delete or nothing (unchanged since the last write: same payload hash), and the results
 * come back as `writes`, which the runner stores with the offset in one transaction (confirm then
 * checkpoint). A key with no mapping is looked up (`find`) before it is created, and a create
 * carries an idempotency key, so neither a lost map nor a create that timed out after the API
 * wrote it makes a second object. A refused write is a rejected event (a dead letter); a transient
 * failure fails the batch, which comes again (what was written is then found, or deduplicated).
 */
export function createDestinationSink(options: DestinationSinkOptions): Sink {
  const concurrency = Math.max(1, options.concurrency ?? 4);
  return {
    name: options.name,
    async deliver(events, signal): Promise<DeliveryResult> {
      const known = new Map<string, KnownMapping>();
      for (const [stream, keys] of keysByStream(events)) {
        for (const [key, mapping] of await options.lookup(stream, keys))
          known.set(`${stream}\u0000${key}`, mapping);
      }
      const byKey = new Map<string, FeedEvent[]>();
      for (const event of events) {
        if (event.kind === 'run') continue;
        const id = `${event.stream}\u0000${event.key}`;
        const changes = byKey.get(id);
        if (changes) changes.push(event);
        else byKey.set(id, [event]);
      }
      const writes = new Map<string, DestinationWrite>();
      const rejected: { event: FeedEvent; reason: string }[] = [];
      const queue = [...byKey.entries()];
      const worker = async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          const [id, changes] = next;
          for (const event of changes) {
            if (signal.aborted) throw signal.reason;
            const current = writes.get(id) ?? known.get(id);
            const outcome = await writeOne(options, event, current, signal);
            if (outcome === null) continue;
            if ('reason' in outcome) rejected.push({ event, reason: outcome.reason });
            else writes.set(id, outcome);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
      return { rejected, writes: [...writes.values()] };
    },
    close: () => options.client.close(),
  };
}

/** The write one change needs; null when none (unchanged, or the mode leaves it). */
async function writeOne(
  options: DestinationSinkOptions,
  event: FeedEvent,
  known: KnownMapping | DestinationWrite | undefined,
  signal: AbortSignal,
): Promise<DestinationWrite | { reason: string } | null> {
  if (event.kind === 'run') return null;
  const { client, mode } = options;
  const record = 'data' in event ? event.data : null;
  const context: WriteContext = { stream: event.stream, key: event.key, record };
  const live = known?.status === 'synced' ? known : undefined;
  const row = (externalId: string, payloadHash: string, status: 'synced' | 'deleted' = 'synced') => ({
    stream: event.stream,
    key: event.key,
    externalId,
    payloadHash,
    status,
  });

  // Deleted (the change is a delete, or the key is gone by now): only a mirror follows.
  if (event.kind === 'delete' || record === null) {
    if (mode !== 'mirror' || !live) return null;
    const removed = await client.remove(live.externalId, context, signal);
    return removed.ok ? row(live.externalId, live.payloadHash, 'deleted') : { reason: removed.reason };
  }

  const payload: Json = await options.map(record, { stream: event.stream, key: event.key });
  const hash = contentHash(payload);
  if (live && live.payloadHash === hash) return null; // sent already: nothing changed for the API

  let externalId = live?.externalId ?? null;
  if (externalId !== null) {
    if (mode === 'create-only') return null;
    const updated = await client.update(externalId, payload, context, signal);
    if (updated.ok) return row(externalId, hash);
    if (!('gone' in updated)) return { reason: updated.reason };
    externalId = null; // the object vanished in the API: look it up again, or create it anew
  }
  const found = await client.find(context, signal);
  if (found !== null) {
    if (mode === 'create-only') return row(found, hash);
    const updated = await client.update(found, payload, context, signal);
    if (updated.ok) return row(found, hash);
    if (!('gone' in updated)) return { reason: updated.reason };
  }
  if (mode === 'update-only') return null;
  const key = idempotencyKey({
    destination: options.name,
    stream: event.stream,
    key: event.key,
    version: event.version,
    hash,
  });
  const created = await client.create(payload, key, context, signal);
  return created.ok ? row(created.externalId, hash) : { reason: created.reason };
}

function keysByStream(events: readonly FeedEvent[]): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const event of events) {
    if (event.kind === 'run') continue;
    const keys = out.get(event.stream) ?? new Set<string>();
    keys.add(event.key);
    out.set(event.stream, keys);
  }
  return new Map([...out].map(([stream, keys]) => [stream, [...keys]]));
}
