import { contentHash } from '../../core/canonical-json.ts';
import type {
  Destination,
  DestinationItem,
  DestinationMode,
  DestinationResult,
} from '../../core/destination.ts';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { FeedChange, FeedEvent } from '../../core/feed-change.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import type { DestinationMapping, DestinationWrite } from '../../core/store.ts';
import { idempotencyKey, type RecordMap } from './record-map.ts';

export type { DestinationMode };

/** A row of the external-ID map as the destination reads it. */
export type KnownMapping = Pick<DestinationMapping, 'externalId' | 'payloadHash' | 'status'>;

/**
 * What became of one record of a batch, as counted in metrics: written (`ok`), nothing to send
 * (`unchanged`: same payload as last confirmed, or the mode leaves it), `skipped` by the
 * destination, to `retry`, or refused for good (`fail`).
 */
export type DestinationOutcome = 'ok' | 'unchanged' | 'skipped' | 'retry' | 'fail';

export interface DestinationSinkOptions {
  readonly name: string;
  readonly mode: DestinationMode;
  readonly map: RecordMap;
  readonly destination: Destination;
  /** The map rows of `keys` of `stream` (the store's `lookupMappings`). */
  lookup(stream: string, keys: readonly string[]): Promise<ReadonlyMap<string, KnownMapping>>;
  /** Told how each record of a batch went (metrics). */
  readonly onOutcome?: (outcome: DestinationOutcome, count: number) => void;
}

/**
 * A destination as a sink of the change log. A batch of changes becomes one `write` of items: each
 * key once (its latest state: a feed change carries the key's current record, so earlier changes
 * of a key in the batch say nothing more), mapped, looked up in the external-ID map, and dropped
 * when the destination holds that payload already (same hash) or the mode leaves it. The results
 * come back as `writes`, which the runner stores with the offset in one transaction (confirm then
 * checkpoint); a refused item is a rejected change (a dead letter); an item to retry fails the
 * batch, which comes again. Writes confirmed in a batch that then failed are kept in memory and
 * stored with the batch once it passes, so a retry does not send them again.
 */
export function createDestinationSink(options: DestinationSinkOptions): Sink {
  const count = options.onOutcome ?? (() => undefined);
  /** Confirmed writes of batches that failed since: not stored yet. */
  const pending = new Map<string, DestinationWrite>();
  return {
    name: options.name,
    async deliver(events, signal): Promise<DeliveryResult> {
      const latest = new Map<string, FeedChange>();
      for (const event of events) {
        if (event.kind === 'run') continue;
        const id = idOf(event.stream, event.key);
        latest.delete(id); // re-inserted at the end: the map keeps the order of last changes
        latest.set(id, event);
      }
      const known = new Map<string, KnownMapping>();
      for (const [stream, keys] of keysByStream(latest.values())) {
        for (const [key, mapping] of await options.lookup(stream, keys))
          known.set(idOf(stream, key), mapping);
      }
      for (const [id, write] of pending) if (latest.has(id)) known.set(id, write);

      const items: { item: DestinationItem; event: FeedChange; hash: string }[] = [];
      let unchanged = 0;
      for (const [id, event] of latest) {
        const next = await itemFor(options, event, known.get(id));
        if (next === null) unchanged++;
        else items.push({ ...next, event });
      }
      count('unchanged', unchanged);

      const results = items.length
        ? await options.destination.write(
            items.map((i) => i.item),
            { destination: options.name, mode: options.mode, signal },
          )
        : [];
      if (!Array.isArray(results) || results.length !== items.length) {
        throw new FatalError(
          `destination "${options.name}": write returned ${Array.isArray(results) ? results.length : 'no'} results for ${items.length} records; return one result per record, in order`,
        );
      }
      const writes = new Map<string, DestinationWrite>();
      const rejected: { event: FeedEvent; reason: string }[] = [];
      const retries: Extract<DestinationResult, { status: 'retry' }>[] = [];
      results.forEach((result, i) => {
        const { item, event, hash } = items[i]!;
        const id = idOf(item.stream, item.key);
        count(result.status, 1);
        if (result.status === 'ok') {
          writes.set(id, {
            stream: item.stream,
            key: item.key,
            externalId: result.externalId,
            payloadHash: hash,
            status: item.op === 'delete' ? 'deleted' : 'synced',
          });
        } else if (result.status === 'fail') rejected.push({ event, reason: result.reason });
        else if (result.status === 'retry') retries.push(result);
        else if (result.status !== 'skipped') {
          throw new FatalError(
            `destination "${options.name}": write returned an unknown result for key "${item.key}"; use ok(), skipped(), retry() or fail()`,
          );
        }
      });
      if (retries.length > 0) {
        for (const [id, write] of writes) pending.set(id, write);
        const waits = retries.flatMap((r) => (r.retryAfterMs === undefined ? [] : [r.retryAfterMs]));
        throw new TransientError(
          `destination "${options.name}": ${retries.length} of ${items.length} records to retry: ${retries[0]!.reason}`,
          {
            summary: `${retries.length} to retry: ${retries[0]!.reason}`,
            ...(waits.length ? { retryAfterMs: Math.max(...waits) } : {}),
          },
        );
      }
      for (const id of latest.keys()) {
        const kept = pending.get(id);
        if (kept && !writes.has(id)) writes.set(id, kept);
        pending.delete(id);
      }
      return { rejected, writes: [...writes.values()] };
    },
    close: async () => {
      await options.destination.close?.();
    },
  };
}

/** The item a change needs, with its payload's hash; null when none (unchanged, or the mode leaves it). */
async function itemFor(
  options: DestinationSinkOptions,
  event: FeedChange,
  known: KnownMapping | undefined,
): Promise<{ item: DestinationItem; hash: string } | null> {
  const live = known?.status === 'synced' ? known : undefined;
  const record = event.data;
  const base = { stream: event.stream, key: event.key };
  if (event.kind === 'delete' || record === null) {
    // Deleted (the change is a delete, or the key is gone by now): only a mirror follows. A key the
    // map does not know may still have an object (a create whose answer was lost, then a crash):
    // the destination looks it up. A key whose object was deleted already needs nothing.
    if (options.mode !== 'mirror' || known?.status === 'deleted') return null;
    const item: DestinationItem = {
      ...base,
      op: 'delete',
      externalId: live?.externalId ?? null,
      payload: null,
      record: null,
      idempotencyKey: idempotencyKey({ destination: options.name, ...base, version: null, hash: 'delete' }),
    };
    return { item, hash: live?.payloadHash ?? '' };
  }
  const payload = await options.map(record, base);
  const hash = contentHash(payload);
  if (live && (live.payloadHash === hash || options.mode === 'create-only')) return null;
  const item: DestinationItem = {
    ...base,
    op: 'upsert',
    externalId: live?.externalId ?? null,
    payload,
    record,
    idempotencyKey: idempotencyKey({ destination: options.name, ...base, version: event.version, hash }),
  };
  return { item, hash };
}

function idOf(stream: string, key: string): string {
  return `${stream}\u0000${key}`;
}

function keysByStream(events: Iterable<FeedChange>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const event of events) {
    const keys = out.get(event.stream);
    if (keys) keys.push(event.key);
    else out.set(event.stream, [event.key]);
  }
  return out;
}
