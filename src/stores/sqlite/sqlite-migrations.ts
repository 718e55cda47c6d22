import { readdirSync, readFileSync } from 'node:fs';
import type BetterSqlite3 from 'better-sqlite3';

/** One numbered, append-only SQL file of `migrations/`. */
export interface SqliteMigration {
  /** From the file name: `001-initial.sql` is version 1. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const MIGRATION_FILE = /^(\d+)-[a-z0-9-]+\.sql$/;

let cached: readonly SqliteMigration[] | undefined;

/** The migrations shipped beside this file, by version. Read once per process. */
export function loadSqliteMigrations(): readonly SqliteMigration[] {
  if (cached) return cached;
  const migrations = readdirSync(MIGRATIONS_DIR)
    .flatMap((name) => {
      const match = MIGRATION_FILE.exec(name);
      if (!match) return [];
      const sql = readFileSync(new URL(name, MIGRATIONS_DIR), 'utf8');
      return [{ version: Number(match[1]), name, sql }];
    })
    .sort((a, b) => a.version - b.version);
  // Versions must be 1..n without gaps or duplicates, or a store could skip one.
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`SQLite migration ${m.name} should be numbered ${i + 1}`);
  });
  cached = migrations;
  return migrations;
}

/**
 * Brings the database's schema up to date and returns the number of migrations applied.
 *
 * Safe when several processes open the same file at once: the pending migrations are applied in
 * one `BEGIN IMMEDIATE` transaction, which takes the write lock first (others wait on
 * `busy_timeout`), and the current version is read again inside it, so a migration applied by
 * another process meanwhile is not applied twice. A database already up to date is only read.
 */
export function migrateSqlite(db: BetterSqlite3.Database, migrations = loadSqliteMigrations()): number {
  const latest = migrations.length;
  if (readSchemaVersion(db) === latest) return 0;
  const apply = db.transaction((): number => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS syncline_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const current = readSchemaVersion(db);
    if (current > latest) {
      throw new Error(
        `its schema version ${current} is newer than this Syncline knows (${latest}); upgrade Syncline`,
      );
    }
    const record = db.prepare<[number, string]>(
      'INSERT INTO syncline_schema (version, applied_at) VALUES (?, ?)',
    );
    for (const m of migrations.slice(current)) {
      db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    }
    return latest - current;
  });
  return apply.immediate();
}

/** The highest applied migration, 0 for a new database. */
export function readSchemaVersion(db: BetterSqlite3.Database): number {
  const exists = db
    .prepare<[], number>(
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'syncline_schema'",
    )
    .pluck()
    .get();
  if (!exists) return 0;
  return db.prepare<[], number | null>('SELECT max(version) FROM syncline_schema').pluck().get() ?? 0;
}
