import { StoreUnavailableError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import { type Kind, KindRegistry } from './kind-registry.ts';

/**
 * A kind of store: which locations name it, and how to build one (not opened). Each kind's module,
 * and its driver, is imported only when a location names it: a SQLite sync does not load pg.
 */
export interface StoreKind extends Kind {
  /** Whether `location` (a `--store` value: a path or a URL) names a store of this kind. */
  accepts(location: string): boolean;
  create(location: string): Promise<Store>;
}

/** The URL scheme of a location, lower-case, when it looks like a URL (`postgres://...`). */
function schemeOf(location: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1]?.toLowerCase();
}

/** The store kinds, tried in this order; a location no kind accepts is refused in one line. */
export const STORE_KINDS = new KindRegistry<StoreKind>('store kind')
  .register({
    kind: 'postgres',
    accepts: (location) => ['postgres', 'postgresql'].includes(schemeOf(location) ?? ''),
    // `?schema=name` picks the schema (default `public`); the rest of the URL is pg's.
    async create(location) {
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
    },
  })
  .register({
    kind: 'sqlite',
    // A file path, optionally `sqlite:` or `file:` prefixed.
    accepts: (location) => ['sqlite', 'file', undefined].includes(schemeOf(location)),
    async create(location) {
      const path = location.replace(/^(sqlite|file):(\/\/)?/i, '');
      if (path.length === 0) throw new StoreUnavailableError('the SQLite store path is empty');
      const { SqliteStore } = await import('../stores/sqlite/sqlite-store.ts');
      return new SqliteStore({ path });
    },
  });

/** The store a location names, built but not opened. */
export async function createStore(location: string): Promise<Store> {
  const kind = STORE_KINDS.find((k) => k.accepts(location));
  if (!kind) {
    throw new StoreUnavailableError(
      `unsupported store "${schemeOf(location)}://...": use a SQLite file path (e.g. syncline.db) or a postgres:// URL`,
    );
  }
  return kind.create(location);
}
