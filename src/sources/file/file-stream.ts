import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { glob } from 'tinyglobby';
import { FatalError } from '../../core/errors.ts';
import type { Page, Reject, SourceArgs } from '../../core/source.ts';
import type { StreamDefinition } from '../../core/stream-definition.ts';
import type { Json } from '../../core/types.ts';
import type { ColumnType } from '../../core/view-columns.ts';
import {
  deletesDueOf,
  EMPTY_CHECKPOINT,
  type FileCheckpoint,
  type FilePosition,
  fileCheckpointOf,
  type KnownFile,
} from './file-checkpoint.ts';
import { CHUNK_BYTES, type FileItem, type ReadRange } from './file-item.ts';
import type { FileConfig, FileFormat, FileStreamConfig } from './file-stream-config.ts';
import { validateFileStream } from './file-stream-schema.ts';
import { type CsvSettings, readCsv } from './read-csv.ts';
import { readJsonArray } from './read-json-array.ts';
import { readNdjson } from './read-ndjson.ts';

/** The resolved `file:` block. */
interface FileSettings {
  readonly stream: string;
  /** `path`, or `glob`, as written. */
  readonly pattern: string;
  readonly isGlob: boolean;
  readonly format: FileFormat;
  readonly csv: CsvSettings;
  readonly encoding: 'utf8' | 'latin1';
  readonly onMissingFile: 'ignore' | 'reconcile';
  readonly pageSize: number;
}

/**
 * A stream read from files (CSV, NDJSON, a JSON array), one path or a glob. Each sync compares
 * every file with what the checkpoint remembers of it: same size and mtime, it is skipped unread;
 * else its SHA-256 decides (same content: nothing is parsed); else it is read again in full, and the
 * record hashes decide what is written. Files are streamed in chunks, pages cut every `pageSize`
 * rows, each page's checkpoint the position just after its last row, so a killed run resumes inside
 * the file it was reading (when that file has not changed since). A reconciliation reads every file
 * in full. With `onMissingFile: reconcile`, a sync that finds a file gone or changed owes one:
 * `reconcileOwed` tells the runtime, which reconciles right after the sync.
 */
export function fileStream<R extends object>(config: FileStreamConfig<R>): StreamDefinition<R> {
  validateFileStream(config);
  const settings = resolveFile(config.name, config.file, config.columns ?? {});
  const { file: _f, ...own } = config;
  return {
    ...own,
    source: (args: SourceArgs) => readFiles(settings, args),
    ...(settings.onMissingFile === 'reconcile' ? { reconcileOwed: deletesDueOf } : {}),
    sourceInfo: {
      kind: 'file',
      reads: `${settings.format} ${settings.isGlob ? 'files' : 'file'} ${settings.pattern}`,
      pagination: `${settings.pageSize} rows a page, resumable inside a file`,
      incremental: 'files changed since the last run (size and mtime, then SHA-256)',
    },
  } as StreamDefinition<R>;
}

function resolveFile(
  stream: string,
  f: FileConfig,
  columns: Readonly<Record<string, ColumnType>>,
): FileSettings {
  return {
    stream,
    pattern: (f.path ?? f.glob)!,
    isGlob: f.glob !== undefined,
    format: f.format,
    csv: {
      delimiter: f.delimiter ?? ',',
      quote: f.quote ?? '"',
      fields: Array.isArray(f.header) ? f.header : null,
      types: columns,
    },
    encoding: f.encoding === 'latin1' ? 'latin1' : 'utf8',
    onMissingFile: f.onMissingFile ?? 'ignore',
    pageSize: f.pageSize ?? 1000,
  };
}

/** The files to read, absolute, sorted. A `path` that does not exist matches nothing. */
async function listFiles(s: FileSettings): Promise<string[]> {
  if (!s.isGlob) {
    const path = resolve(s.pattern);
    try {
      const found = await stat(path);
      if (!found.isFile()) throw new FatalError(`stream "${s.stream}": ${s.pattern} is not a file`);
      return [path];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
  const paths = await glob(s.pattern, { absolute: true, onlyFiles: true, expandDirectories: false });
  return paths.map((p) => resolve(p)).sort();
}

/** A path as messages show it: relative to the working directory when under it. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

async function* readFiles(s: FileSettings, args: SourceArgs): AsyncGenerator<Page> {
  const { request, log, signal } = args;
  if (request.mode !== 'sync' && request.mode !== 'reconcile') {
    throw new FatalError(
      `stream "${s.stream}": a file stream cannot ${request.mode === 'backfill' ? 'backfill a time range' : `serve a ${request.mode} run`}; ` +
        `\`syncline reconcile ${s.stream}\` reads every file again`,
      { stream: s.stream },
    );
  }
  const scan = request.mode === 'reconcile';
  const startedAt = new Date().toISOString();
  const prior = scan ? EMPTY_CHECKPOINT : fileCheckpointOf(args.checkpoint, s.stream);
  const files: Record<string, KnownFile> = { ...prior.files };
  let deletesDue = prior.deletesDue;
  // The file being read and how far: mutated row by row, copied into each page's checkpoint.
  let reading: { -readonly [K in keyof FilePosition]: FilePosition[K] } | null = null;
  let dirty = false;
  let records: Record<string, unknown>[] = [];
  let rejects: Reject[] = [];
  const cut = (): Page => {
    const checkpoint: FileCheckpoint = {
      files: { ...files },
      current: reading ? { ...reading } : null,
      deletesDue,
    };
    const page: Page = {
      records,
      ...(rejects.length > 0 ? { rejects } : {}),
      checkpoint: checkpoint as unknown as Json,
    };
    records = [];
    rejects = [];
    dirty = false;
    return page;
  };
  const owe = (why: string, path: string) => {
    if (s.onMissingFile !== 'reconcile' || scan) return;
    deletesDue = startedAt;
    dirty = true;
    log.info({ stream: s.stream, file: shownPath(path) }, `${why}: a reconciliation will follow the sync`);
  };

  const paths = await listFiles(s);
  if (paths.length === 0) {
    log.warn(
      { stream: s.stream, [s.isGlob ? 'glob' : 'path']: s.pattern, cwd: process.cwd() },
      s.isGlob ? 'no file matches the glob' : 'the file does not exist (yet)',
    );
  }
  const listed = new Set(paths);
  for (const known of Object.keys(files)) {
    if (listed.has(known)) continue;
    delete files[known];
    dirty = true;
    log.info({ stream: s.stream, file: shownPath(known) }, 'a file read before is gone');
    owe('a file is gone', known);
  }

  let parsedBytes = 0;
  for (const path of paths) {
    if (signal.aborted) return;
    const shown = shownPath(path);
    const known = files[path];
    const gone = () => {
      // Listed, then removed before it could be read: as a file gone.
      log.info({ stream: s.stream, file: shown }, 'a file went away while the run looked at it');
      if (known === undefined) return;
      delete files[path];
      dirty = true;
      owe('a file is gone', path);
    };
    const found = await statFile(path, shown);
    if (found === null) {
      gone();
      continue;
    }
    let consumed = false;
    try {
      const unchanged = known !== undefined && known.size === found.size && known.mtimeMs === found.mtimeMs;
      let offset = 0;
      let line = 0;
      let header: readonly string[] | null = null;
      let final = scan;
      // Reading only the held-back last line of a file that has not changed (its hash stands).
      let tailOnly = false;
      // The hash of the file's bytes as an earlier run read them, when they were hashed to tell an append.
      let prefix: { sha256: string; at: Hash } | null = null;
      const resumable = prior.current;
      const resuming =
        !scan &&
        resumable !== null &&
        resumable.path === path &&
        resumable.size === found.size &&
        resumable.mtimeMs === found.mtimeMs;
      if (!resuming && !scan && s.format !== 'json' && known?.end !== undefined && found.size > known.size) {
        prefix = await hashPrefix(path, known.size, known.end, args);
      }
      if (resuming) {
        ({ offset, line } = resumable!);
        header = resumable!.header ?? null;
        log.info({ stream: s.stream, file: shown, offset, line }, 'resuming inside the file');
      } else if (unchanged && !scan) {
        if (known.tail === undefined) continue;
        // A held-back last line in a file that has not changed since: the writer is done with it, so
        // it is malformed (a dead letter).
        ({ at: offset, line } = known.tail);
        header = known.tail.header ?? null;
        final = true;
        tailOnly = true;
      } else if (
        prefix !== null &&
        known !== undefined &&
        known.end !== undefined &&
        prefix.sha256 === known.sha256
      ) {
        // The file only grew (its old bytes are the same): read from just after its last whole line.
        offset = known.end;
        line = known.line ?? 0;
        header = known.header ?? null;
        log.info({ stream: s.stream, file: shown, offset }, 'a file grew: reading what was appended');
      } else if (known !== undefined && !scan) {
        if (prefix !== null) owe('a file changed', path);
        const sha256 = prefix !== null ? null : await hashFile(path, found.size, args);
        if (sha256 === known.sha256) {
          files[path] = { ...known, size: found.size, mtimeMs: found.mtimeMs };
          dirty = true;
          log.debug({ stream: s.stream, file: shown }, 'a file was touched but its content is the same');
          continue;
        }
        if (prefix === null) owe('a file changed', path);
      }
      const appended = prefix !== null && prefix.sha256 === known?.sha256;
      const hash = appended ? prefix!.at : createHash('sha256');
      if (offset > 0 && !tailOnly && !appended) await hashRange(path, offset, hash, args);
      reading = {
        path,
        size: found.size,
        mtimeMs: found.mtimeMs,
        offset,
        line,
        ...(header ? { header } : {}),
      };
      const range: ReadRange = {
        path,
        shown,
        start: offset,
        size: found.size,
        line,
        encoding: s.encoding,
        final,
        onChunk: (chunk) => {
          hash.update(chunk);
          parsedBytes += chunk.length;
          lastByte = chunk[chunk.length - 1] ?? lastByte;
        },
      };
      let lastByte = -1;
      // Where the item before the last one ended: an append re-reads a last line that had no line end.
      let before = { offset, line };
      let tail: KnownFile['tail'];
      const onHeader = (names: readonly string[], end: number, at: number) => {
        header = names;
        reading = { ...reading!, header: names, offset: end, line: at };
        before = { offset: end, line: at };
      };
      const items = readable(readItems(s, range, header, onHeader), shown);
      for await (const item of items) {
        if (item.kind === 'tail') {
          tail = { at: item.at, line: item.line, ...(header ? { header } : {}) };
          log.warn(
            { stream: s.stream, file: shown, line: item.line + 1 },
            'the last line has no line end and does not parse: held back (the file may still be being written)',
          );
          continue;
        }
        consumed = true;
        if (item.kind === 'record') records.push(item.record);
        else rejects.push({ reason: item.reason, payload: item.payload });
        before = { offset: reading.offset, line: reading.line };
        reading.offset = item.end;
        reading.line = item.line;
        if (records.length + rejects.length >= s.pageSize) {
          args.report({ bytes: parsedBytes });
          parsedBytes = 0;
          yield cut();
          if (signal.aborted) return;
        }
      }
      // Where a later append is read from: after the last item that ended with a line end.
      const open = tail === undefined && lastByte !== 0x0a && reading.offset >= found.size;
      const resumeAt = tail ? { offset: tail.at, line: tail.line } : open ? before : reading;
      const growth = {
        end: resumeAt.offset,
        line: resumeAt.line,
        ...(header && s.format === 'csv' && s.csv.fields === null ? { header } : {}),
      };
      if (tailOnly) {
        const { tail: _t, ...rest } = known!;
        files[path] = { ...rest, ...growth };
      } else {
        files[path] = {
          size: found.size,
          mtimeMs: found.mtimeMs,
          sha256: hash.digest('hex'),
          ...growth,
          ...(tail ? { tail } : {}),
        };
      }
    } catch (error) {
      // Removed between the listing and its reading (nothing of it was read): as a file gone.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || consumed) throw error;
      reading = null;
      gone();
      continue;
    }
    reading = null;
    dirty = true;
  }
  args.report({ bytes: parsedBytes });
  if (dirty || records.length > 0 || rejects.length > 0) yield cut();
}

function readItems(
  s: FileSettings,
  range: ReadRange,
  header: readonly string[] | null,
  onHeader: (header: readonly string[], end: number, line: number) => void,
): AsyncGenerator<FileItem> {
  switch (s.format) {
    case 'csv':
      return readCsv({ ...range, header, onHeader }, s.csv);
    case 'ndjson':
      return readNdjson(range);
    case 'json':
      return readJsonArray(range);
  }
}

/** The reader's items; an I/O error (a file made unreadable mid-run) as a FatalError naming the file. */
async function* readable(items: AsyncGenerator<FileItem>, shown: string): AsyncGenerator<FileItem> {
  try {
    yield* items;
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code === 'string' && !(error instanceof FatalError)) {
      const code = (error as NodeJS.ErrnoException).code!;
      // ENOENT: the file went away before it was opened, which the caller takes as a file gone.
      if (!code.startsWith('CSV_') && code !== 'ENOENT') {
        throw new FatalError(`cannot read ${shown}: ${(error as Error).message}`);
      }
    }
    throw error;
  }
}

/** The file's size and mtime, or null when it is gone. */
async function statFile(path: string, shown: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const found = await stat(path);
    return { size: found.size, mtimeMs: found.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new FatalError(`cannot read ${shown}: ${(error as Error).message}`);
  }
}

/**
 * The SHA-256 of the file's first `size` bytes, and the hash's state at byte `at` (<= size) to go
 * on from: a read, but no parse.
 */
async function hashPrefix(
  path: string,
  size: number,
  at: number,
  args: SourceArgs,
): Promise<{ sha256: string; at: Hash }> {
  const hash = createHash('sha256');
  let copy: Hash | null = at === 0 ? hash.copy() : null;
  let offset = 0;
  if (size > 0) {
    const input = createReadStream(path, { start: 0, end: size - 1, highWaterMark: CHUNK_BYTES });
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        if (copy === null && offset + chunk.length >= at) {
          hash.update(chunk.subarray(0, at - offset));
          copy = hash.copy();
          hash.update(chunk.subarray(at - offset));
        } else hash.update(chunk);
        offset += chunk.length;
        if (args.signal.aborted) break;
      }
    } finally {
      input.destroy();
    }
  }
  return { sha256: hash.digest('hex'), at: copy ?? hash.copy() };
}

/** The SHA-256 of the file's first `size` bytes: a read, but no parse. */
async function hashFile(path: string, size: number, args: SourceArgs): Promise<string> {
  const hash = createHash('sha256');
  await hashRange(path, size, hash, args);
  return hash.digest('hex');
}

async function hashRange(path: string, size: number, hash: Hash, args: SourceArgs): Promise<void> {
  if (size <= 0) return;
  const input = createReadStream(path, { start: 0, end: size - 1, highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (args.signal.aborted) return;
    }
  } finally {
    input.destroy();
  }
}
