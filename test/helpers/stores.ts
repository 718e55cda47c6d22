import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/core/store.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { freshPgSchema } from './postgres.ts';

/** A fresh store location for one test: a SQLite file in a temp dir, or a PostgreSQL schema. */
export interface TestStore {
  readonly kind: 'sqlite' | 'postgres';
  /** What `--store` / `openStore` take. */
  readonly location: string;
  readonly store: Store;
  dispose(): Promise<void>;
}

export const STORE_KINDS = ['sqlite', 'postgres'] as const;

/** A fresh, empty store location (what `--store` takes) and how to remove it afterwards. */
export async function freshLocation(
  kind: 'sqlite' | 'postgres',
): Promise<{ location: string; drop(): Promise<void> }> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-test-'));
    return {
      location: join(dir, 'syncline.db'),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg = await freshPgSchema();
  return {
    location: `${pg.url}${pg.url.includes('?') ? '&' : '?'}schema=${pg.schema}`,
    drop: () => pg.drop(),
  };
}

export async function makeTestStore(kind: 'sqlite' | 'postgres'): Promise<TestStore> {
  const { location, drop } = await freshLocation(kind);
  const store = await openStore(location);
  return {
    kind,
    location,
    store,
    async dispose() {
      await store.close();
      await drop();
    },
  };
}
