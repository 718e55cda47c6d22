import { hashText } from '../../core/canonical-json.ts';
import {
  type Destination,
  type DestinationItem,
  type DestinationResult,
  type DestinationWriteContext,
  fail,
  ok,
  retry,
  skipped,
} from '../../core/destination.ts';
import { TransientError } from '../../core/errors.ts';
import type { Json } from '../../core/types.ts';
import {
  createHttpDestinationClient,
  type HttpDestinationClient,
  type HttpDestinationClientOptions,
  type WriteContext,
} from './http-destination-client.ts';

export interface HttpDestinationOptions extends HttpDestinationClientOptions {
  /** Requests in flight at once. Default 4. */
  readonly concurrency?: number;
}

/**
 * The declarative HTTP destination: each record written through the API's own operations (look
 * up, create with an idempotency key, update by id, delete), `concurrency` records at a time, or
 * through its bulk upsert endpoint (`batch`) `maxSize` at a time. A transient failure (429, 5xx, a
 * timeout, a reset) is a `retry` of that record; a 4xx other than 401/403 a `fail`; 401/403 throws.
 */
export async function createHttpDestination(options: HttpDestinationOptions): Promise<Destination> {
  const client = await createHttpDestinationClient(options);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const batch = options.operations.batch;
  return {
    async write(items, context) {
      const results: DestinationResult[] = new Array(items.length);
      const single: number[] = [];
      const chunks: number[][] = [];
      items.forEach((item, i) => {
        if (!batch || item.op === 'delete') single.push(i);
        else {
          const last = chunks.at(-1);
          if (last && last.length < (batch.maxSize ?? 100)) last.push(i);
          else chunks.push([i]);
        }
      });
      const tasks: (() => Promise<void>)[] = [
        ...chunks.map((indexes) => async () => {
          const outcomes = await transient(() => bulkWrite(client, indexes, items, context.signal), context);
          indexes.forEach((index, n) => {
            results[index] = Array.isArray(outcomes) ? outcomes[n]! : outcomes;
          });
        }),
        ...single.map((index) => async () => {
          results[index] = await transient(() => writeOne(client, items[index]!, context), context);
        }),
      ];
      await pool(tasks, concurrency);
      return results;
    },
    close: () => client.close(),
  };
}

/** A transient failure as the `retry` result of what was being written (an abort stays an abort). */
async function transient<T>(
  run: () => Promise<T>,
  context: DestinationWriteContext,
): Promise<T | DestinationResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TransientError && !context.signal.aborted)
      return retry(error.summary ?? error.message, error.retryAfterMs);
    throw error;
  }
}

/** One record through the single-object operations. */
async function writeOne(
  client: HttpDestinationClient,
  item: DestinationItem,
  context: DestinationWriteContext,
): Promise<DestinationResult> {
  const { signal, mode } = context;
  const about: WriteContext = { stream: item.stream, key: item.key, record: item.record };
  if (item.op === 'delete') {
    // Unknown to the map, the object may exist all the same (a create whose answer was lost).
    const externalId = item.externalId ?? (await client.find(about, signal));
    if (externalId === null) return skipped();
    const removed = await client.remove(externalId, about, signal);
    return removed.ok ? ok(externalId) : fail(removed.reason);
  }
  const payload = item.payload as Json;
  if (item.externalId !== null) {
    const updated = await client.update(item.externalId, payload, about, signal);
    if (updated.ok) return ok(item.externalId);
    if (!('gone' in updated)) return fail(updated.reason);
    // The object vanished in the API: look it up again, or create it anew.
  }
  const found = await client.find(about, signal);
  if (found !== null) {
    if (mode === 'create-only') return ok(found);
    const updated = await client.update(found, payload, about, signal);
    if (updated.ok) return ok(found);
    if (!('gone' in updated)) return fail(updated.reason);
  }
  if (mode === 'update-only') return skipped();
  const created = await client.create(payload, item.idempotencyKey, about, signal);
  return created.ok ? ok(created.externalId) : fail(created.reason);
}

/** Records `indexes` of `items` in one bulk request; its key is the same for the same records. */
async function bulkWrite(
  client: HttpDestinationClient,
  indexes: readonly number[],
  items: readonly DestinationItem[],
  signal: AbortSignal,
): Promise<DestinationResult[] | DestinationResult> {
  const chosen = indexes.map((i) => items[i]!);
  const key = `syncline-${hashText(chosen.map((item) => item.idempotencyKey).join(','))}`;
  const outcomes = await client.bulk(
    chosen.map((item) => item.payload as Json),
    key,
    signal,
  );
  if (!Array.isArray(outcomes)) return fail((outcomes as { reason: string }).reason);
  return outcomes.map((o) => (o.ok ? ok(o.externalId) : fail(o.reason)));
}

/**
 * Runs `tasks`, `limit` at a time; after a task throws, no new one starts, those in flight end,
 * and the first error is thrown.
 */
async function pool(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}
