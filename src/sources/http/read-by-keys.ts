import { FatalError } from '../../core/errors.ts';
import type { Page, SourceArgs, Tombstone } from '../../core/source.ts';
import { keyFields } from '../../core/stream-definition.ts';
import { fetchPage } from './fetch-page.ts';
import { openHttpRun } from './http-run.ts';
import { apiUrl, type HttpSettings } from './http-settings.ts';
import type { FetchByIdConfig } from './http-stream-config.ts';
import { requestUrl } from './request-url.ts';

/**
 * A refresh (`syncline refresh`): fetches each key by id; a record found is handed over as is, a
 * 404/410 becomes a tombstone. One page per 100 keys, each with the stored checkpoint unchanged.
 */
export async function* readByKeys(
  s: HttpSettings,
  byId: FetchByIdConfig,
  args: SourceArgs,
): AsyncGenerator<Page<unknown>> {
  const keyField = keyFields(s.config)[0]!;
  if (args.request.mode !== 'refresh') {
    const mode = args.request.mode;
    throw new FatalError(`stream "${s.stream}": fetchById serves refresh runs only, not ${mode}`, {
      stream: s.stream,
    });
  }
  const keys = args.request.keys;
  const run = openHttpRun(s, args);
  for (let start = 0; start < keys.length; start += 100) {
    const records: unknown[] = [];
    const tombstones: Tombstone[] = [];
    for (const key of keys.slice(start, start + 100)) {
      const path = byId.path.replaceAll('{id}', encodeURIComponent(key));
      const base = apiUrl(s.config, path);
      const url = requestUrl(s, { query: {} }, base);
      const fetched = await fetchPage({ run, url, answer: { kind: 'byId', byId } });
      if (fetched === 'not-modified') continue; // never: no validators are sent
      if (fetched.page.status === 404 || fetched.page.status === 410) {
        tombstones.push({ key: { [keyField]: key }, deletedAt: null });
      } else {
        records.push(...fetched.page.records);
      }
    }
    yield { records, tombstones, checkpoint: args.checkpoint };
  }
}
