import { FatalError } from '../../core/errors.ts';
import type { Page, SourceArgs } from '../../core/source.ts';
import type { StreamDefinition } from '../../core/stream-definition.ts';
import { readHttpCheckpoint } from './http-checkpoint.ts';
import { openHttpRun } from './http-run.ts';
import { type HttpSettings, resolveHttpSettings } from './http-settings.ts';
import { httpSourceInfo } from './http-source-info.ts';
import type { HttpStreamConfig } from './http-stream-config.ts';
import { validateHttpStream } from './http-stream-schema.ts';
import { readByKeys } from './read-by-keys.ts';
import { readDeletedFeed } from './read-deleted-feed.ts';
import { readListPasses } from './read-list-passes.ts';

/**
 * A stream read from a REST API, described instead of programmed: request, auth, where the records
 * are, how pages follow each other, and how to read incrementally. Resilience (rate limits,
 * retries, deadline) comes from the engine through `SourceArgs.attempt`.
 */
export function httpStream<R extends object>(config: HttpStreamConfig<R>): StreamDefinition<R> {
  validateHttpStream(config);
  const settings = resolveHttpSettings(config as HttpStreamConfig<Record<string, unknown>>);
  const definition: StreamDefinition<R> = {
    name: config.name,
    key: config.key,
    ...(config.cursor !== undefined ? { cursor: config.cursor } : {}),
    ...(config.version !== undefined ? { version: config.version } : {}),
    ...(config.deleted !== undefined ? { deleted: config.deleted } : {}),
    ...(config.schema !== undefined ? { schema: config.schema } : {}),
    ...(config.hash !== undefined ? { hash: config.hash } : {}),
    ...(config.onVersionRegression !== undefined ? { onVersionRegression: config.onVersionRegression } : {}),
    ...(config.history !== undefined ? { history: config.history } : {}),
    ...(config.columns !== undefined ? { columns: config.columns } : {}),
    ...(config.backfill !== undefined ? { backfill: config.backfill } : {}),
    ...(config.reconcile !== undefined ? { reconcile: config.reconcile } : {}),
    ...(config.schedule !== undefined ? { schedule: config.schedule } : {}),
    source: (args) => readStream(settings, args),
    sourceInfo: httpSourceInfo(config as HttpStreamConfig<Record<string, unknown>>),
    ...(settings.byId ? { fetchByKey: (args) => readByKeys(settings, settings.byId!, args) } : {}),
  };
  return definition;
}

/**
 * A run of the stream's list, as its request asks: the list passes (in a backfill, of the range
 * only), then, in a sync of a stream with `deletes.feed`, the deleted-records feed. A
 * reconciliation skips the feed: its full scan finds every delete anyway. Refresh runs read through
 * `readByKeys`; replays never reach a source.
 */
async function* readStream(s: HttpSettings, args: SourceArgs): AsyncGenerator<Page<unknown>> {
  const { request } = args;
  if (request.mode === 'refresh' || request.mode === 'replay') {
    throw new FatalError(
      `stream "${s.stream}": a ${request.mode} run does not read the stream's list ` +
        '(a refresh reads through fetchById, a replay reads the stored dead letters)',
      { stream: s.stream },
    );
  }
  const stored = readHttpCheckpoint(args.checkpoint, s.stream);
  const run = openHttpRun(s, args);
  const range = request.mode === 'backfill' ? request.range : null;
  const last = yield* readListPasses(run, range, stored);
  if (s.feed !== null && request.mode === 'sync') yield* readDeletedFeed(run, s.feed, last);
}
