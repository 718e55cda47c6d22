import type { Store, StoreOpenOptions } from '../core/store.ts';
import { createStore } from './store-kinds.ts';

export { createStore };

/**
 * Builds and opens the store a location names (`STORE_KINDS`): `postgres://` / `postgresql://` URLs
 * (an optional `?schema=name` picks the schema, default `public`) or a SQLite file path (optionally
 * `sqlite:` prefixed). Anything else that looks like a URL is refused with one line.
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
