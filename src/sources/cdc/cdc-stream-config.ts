import type { StreamDefinition } from '../../core/stream-definition.ts';

/** Where a CDC stream's changes come from: one table of a PostgreSQL database, through a slot. */
export interface CdcConfig {
  /** The environment variable holding the source database's URL (`postgres://user:pass@host/db`). */
  readonly urlEnv: string;
  /** The table: `schema.table`, or `table` for `public.table`. */
  readonly table: string;
  /**
   * The logical replication slot (default `syncline`). Streams of one database with the same slot
   * share it: one reader, one snapshot of all their tables, one position.
   */
  readonly slot?: string;
  /**
   * The publication the slot reads (default `syncline`). Created when absent, with the tables of the
   * config's CDC streams on this slot; used as it is when present (its tables must include them).
   */
  readonly publication?: string;
  /**
   * What a `TRUNCATE` of the table does to the stream: `tombstone` (default: every live record is
   * deleted, like the table) or `ignore` (the records stay: an archive that a truncate must not empty).
   */
  readonly onTruncate?: 'tombstone' | 'ignore';
  /** Rows per page of the initial snapshot and of reconciliations. Default 5,000. */
  readonly snapshotPageSize?: number;
  /**
   * WAL the slot may hold back (bytes, or `512MB`, `2GB`) before `syncline status`, the API and the
   * log warn: a slot nobody reads keeps every WAL segment on the source's disk. Default `1GB`.
   */
  readonly maxSlotLag?: number | string;
}

/** A change data capture stream (`cdc.stream({...})`, or `type: cdc` in YAML/JSON). */
export interface CdcStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'fetchByKey' | 'sourceInfo' | 'cursor' | 'version'> {
  readonly cdc: CdcConfig;
  /** Change events applied per page. Default 1,000. */
  readonly pageSize?: number;
}
