import { StoreUnavailableError } from '../core/errors.ts';
import type { Store, StoreOpenOptions } from '../core/store.ts';

/**
 * Builds and opens the store a location names: `postgres://` / `postgresql://` URLs (an optional
 * `?schema=name` picks the schema, default `public`) or a SQLite file path (optionally `sqlite:`
 * prefixed). Anything else that looks like a URL is refused with one line. Each store's module
 * (and its driver) is loaded only when a location names it: a SQLite sync does not load pg.
 *
 * `options` says what the caller will do (`StoreOpenOptions`): by default the store is created when
 * missing; `{ mode: 'read' }` or `{ mode: 'write' }` refuse a location without a Syncline store
 * (one line, nothing created), and `streams` refuses tables of those names that are not Syncline's.
 */
export async function openStore(location: string, options: StoreOpenOptions = {}): Promise<Store> {
  const store = await createStore(location);
  await store.open(options);
  return store;
}

export async function createStore(location: string): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw new StoreUnavailableError('the store URL is not a valid postgres:// URL');
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    const { PostgresStore } = await import('../stores/postgres/postgres-store.ts');
    return new PostgresStore({ url: url.toString(), ...(schema ? { schema } : {}) });
  }
  if (scheme !== undefined && scheme !== 'sqlite' && scheme !== 'file') {
    throw new StoreUnavailableError(
      `unsupported store "${scheme}://...": use a SQLite file path (e.g. syncline.db) or a postgres:// URL`,
    );
  }
  const path = location.replace(/^(sqlite|file):(\/\/)?/i, '');
  if (path.length === 0) throw new StoreUnavailableError('the SQLite store path is empty');
  const { SqliteStore } = await import('../stores/sqlite/sqlite-store.ts');
  return new SqliteStore({ path });
}
