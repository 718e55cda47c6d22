import type { StreamDefinition } from '../../core/stream-definition.ts';

/** The formats a file stream reads. */
export type FileFormat = 'csv' | 'ndjson' | 'json';

/** Where the files are and how to read them (`file:` of a file stream). */
export interface FileConfig {
  /** One file. Relative paths are resolved against the working directory. Give `path` or `glob`. */
  readonly path?: string;
  /** Files matching a glob (`exports/*.csv`), read in sorted order. Give `path` or `glob`. */
  readonly glob?: string;
  /** `csv` (a header row, then one record a row), `ndjson` (one JSON object a line) or `json` (one array of objects). */
  readonly format: FileFormat;
  /** CSV: the field delimiter, one character. Default `,`. */
  readonly delimiter?: string;
  /** CSV: the quote character. Default `"`. */
  readonly quote?: string;
  /**
   * CSV: `true` (default) when the first row names the fields, or the field names in order when the
   * file has no header row.
   */
  readonly header?: boolean | readonly string[];
  /** The files' text encoding. Default `utf8`. */
  readonly encoding?: 'utf8' | 'utf-8' | 'latin1' | 'utf16le';
  /**
   * What a file that is gone, or a row gone from a changed file, means. `ignore` (default): nothing
   * (the records stay; only `syncline reconcile` deletes). `reconcile`: the files are the whole data
   * set, so after a sync that saw a file disappear or change, the stream is reconciled: every file
   * is read in full and the records no file holds any more are deleted.
   */
  readonly onMissingFile?: 'ignore' | 'reconcile';
  /** Records a page. Default 1000. */
  readonly pageSize?: number;
}

/** A stream read from files: `file.stream({...})` in code, `type: file` in JSON/YAML config. */
export interface FileStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'fetchByKey' | 'sourceInfo' | 'receive'> {
  readonly file: FileConfig;
}
