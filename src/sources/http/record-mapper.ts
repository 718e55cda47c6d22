import { ConfigError, FatalError } from '../../core/errors.ts';
import { omitPaths, readPath } from '../../core/field-path.ts';
import { scalarText } from '../../core/key-codec.ts';
import type { Tombstone } from '../../core/source.ts';
import type { FieldsConfig } from './http-stream-config.ts';

/** How a stream's rows become records: the `record`, `deletedPath` and `fields` options. */
export interface RecordMapping {
  readonly record?: string | undefined;
  readonly deletedPath?: string | undefined;
  readonly fields?: FieldsConfig | undefined;
}

/** The rows of one answer, mapped. */
export interface MappedRows {
  /** One per row, in row order: the record, or for a deleted row the object its key is read from. */
  readonly records: unknown[];
  /**
   * Those of `records` (by identity) that stand for rows flagged deleted. Every row is an object of
   * its own (parsed JSON), and so is what is taken from it, so identity names one row.
   */
  readonly deleted: ReadonlySet<unknown>;
}

/** Records and the tombstones that follow them, as one page hands them over. */
export interface RecordBatch {
  readonly records: unknown[];
  readonly tombstones: Tombstone[];
}

const NONE: ReadonlySet<unknown> = new Set();

/**
 * Turns the rows of an answer into the stream's records before the engine validates and keys
 * them: takes the record out of its row (`record: doc`), drops and renames fields (`fields`), and
 * turns rows flagged deleted (`deletedPath`) into tombstones. A tombstone soft-deletes the stored
 * row and keeps its last data (as a deleted-records feed or a 404 on fetch-by-id do); its key is
 * read from the row's record when it has one (a CouchDB stub `{ _id, _deleted }`), else from the
 * row itself, in both cases after `fields`. With none of the three options, rows are records as
 * they are.
 */
export class RecordMapper {
  private readonly record: string | undefined;
  private readonly deletedPath: string | undefined;
  private readonly drop: readonly string[];
  private readonly rename: readonly (readonly [string, string])[];

  constructor(
    mapping: RecordMapping,
    private readonly keyFields: readonly string[],
    where: string,
  ) {
    this.record = mapping.record;
    this.deletedPath = mapping.deletedPath;
    this.drop = mapping.fields?.drop ?? [];
    this.rename = Object.entries(mapping.fields?.rename ?? {});
    const targets = new Set<string>();
    for (const [from, to] of this.rename) {
      if (this.drop.includes(from)) {
        throw new ConfigError(`${where}: fields: "${from}" is both dropped and renamed; keep one`);
      }
      if (targets.has(to)) {
        throw new ConfigError(`${where}: fields.rename: two fields are renamed to "${to}"; keep one`);
      }
      targets.add(to);
    }
  }

  /**
   * Maps the rows of one answer. A row that is not flagged deleted and has no object at `record`
   * is a FatalError (`where` says which request): the config does not fit the API's answers, as
   * when `records` finds no array; no retry can mend that.
   */
  mapRows(rows: readonly unknown[], where: string): MappedRows {
    if (this.record === undefined && this.deletedPath === undefined && this.isPlain()) {
      return { records: rows as unknown[], deleted: NONE };
    }
    const records: unknown[] = [];
    const deleted = new Set<unknown>();
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const gone = this.deletedPath !== undefined && Boolean(readPath(row, this.deletedPath));
      const inner = this.record === undefined ? row : readPath(row, this.record);
      let mapped: unknown;
      if (isObject(inner) || this.record === undefined) mapped = this.mapRecord(inner);
      else if (gone) mapped = this.mapRecord(row);
      else {
        throw new FatalError(
          `${where}: row ${i} has no object at "${this.record}" (the row is ${shape(row)}); set \`record\` ` +
            'to the path of the record inside each row (or remove it when rows are the records)',
        );
      }
      records.push(mapped);
      if (gone) deleted.add(mapped);
    }
    return { records, deleted };
  }

  /** One record with `fields.drop` then `fields.rename` applied (a non-object is left as it is). */
  mapRecord(record: unknown): unknown {
    if (!isObject(record) || this.isPlain()) return record;
    let out: unknown = this.drop.length > 0 ? omitPaths(record, this.drop) : record;
    for (const [from, to] of this.rename) {
      const value = readPath(out, from);
      if (value === undefined) continue;
      out = writePath(omitPaths(out, [from]) as Record<string, unknown>, to, value);
    }
    return out;
  }

  /**
   * Splits the records a page hands over into batches of records then tombstones, keeping the
   * rows' order where it matters: the engine applies a page's tombstones after its records, so a
   * record that follows a tombstone of its own key (deleted, then created again) starts a new batch.
   */
  batches(records: readonly unknown[], deleted: ReadonlySet<unknown> = NONE): RecordBatch[] {
    if (deleted.size === 0) return [{ records: [...records], tombstones: [] }];
    const batches: RecordBatch[] = [];
    let current: RecordBatch = { records: [], tombstones: [] };
    let tombstoned = new Set<string>();
    for (const record of records) {
      if (deleted.has(record)) {
        current.tombstones.push({ key: record, deletedAt: null });
        tombstoned.add(this.keyText(record));
        continue;
      }
      if (tombstoned.size > 0 && tombstoned.has(this.keyText(record))) {
        batches.push(current);
        current = { records: [], tombstones: [] };
        tombstoned = new Set();
      }
      current.records.push(record);
    }
    batches.push(current);
    return batches;
  }

  private isPlain(): boolean {
    return this.drop.length === 0 && this.rename.length === 0;
  }

  /** The key as text, to tell whether two records share it (as the engine would key them). */
  private keyText(record: unknown): string {
    return JSON.stringify(this.keyFields.map((field) => scalarText(readPath(record, field))));
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A copy of `record` with `value` at the dotted `path` (copies only the objects on the path). */
function writePath(record: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const parts = path.split('.');
  const out = { ...record };
  let at = out;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    at[part] = isObject(next) ? { ...next } : {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
  return out;
}

function shape(value: unknown): string {
  if (isObject(value)) return `an object with keys ${Object.keys(value).slice(0, 8).join(', ') || '(none)'}`;
  return Array.isArray(value) ? 'an array' : String(JSON.stringify(value)).slice(0, 40);
}
