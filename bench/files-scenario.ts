import { spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse';
import type { SourceArgs } from '../src/core/source.ts';
import { file } from '../src/sources/file/index.ts';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import { REPO_ROOT } from './child-process.ts';
import { int, rate } from './format.ts';
import type { Locations } from './locations.ts';

/**
 * The files section: one CSV file of `sizes.records` rows (about 120 bytes each), synced by
 * `syncline sync` (a child process, from a YAML config: a `file` stream with typed columns) into
 * SQLite, against a raw `csv-parse` pass over the same file in this process (header row, objects,
 * every row counted, nothing else): what the file source and the engine cost on top of parsing.
 * The file source alone (in this process, its pages dropped) says how much of the gap is the
 * source's and how much the engine's and the store's. Then the same sync again on the unchanged file (skipped by size and mtime), and after a touch
 * (a new mtime, the same bytes: hashed, not parsed).
 */
export interface FilesScenario {
  readonly rows: number;
  readonly bytes: number;
  /** The raw csv-parse pass. */
  readonly rawMs: number;
  /** The file source alone, in this process: its pages read and dropped (no engine, no store). */
  readonly sourceMs: number;
  /** `syncline sync`, first load, wall time of the process (start-up included). */
  readonly syncMs: number;
  /** The process's own start-up to exit, less nothing: what a run with nothing to do costs. */
  readonly unchangedMs: number;
  readonly touchedMs: number;
  /** Peak resident set of the loading sync process, MB. */
  readonly peakRssMb: number;
}

const BIN = resolve(REPO_ROOT, 'bin/syncline.mjs');
/** The types the YAML config declares, for the in-process pass too. */
const COLUMNS = { id: 'integer', amount: 'numeric', active: 'boolean', created_at: 'timestamp' } as const;

export async function runFilesScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<FilesScenario> {
  const dir = locations.scratchDir();
  const path = join(dir, 'items.csv');
  const rows = sizes.records;
  await writeCsv(path, rows);
  const bytes = statSync(path).size;
  log(`files: ${int(rows)} rows, ${(bytes / 1e6).toFixed(0)} MB of CSV`);

  const rawStart = performance.now();
  let counted = 0;
  for await (const _row of createReadStream(path).pipe(parse({ columns: true }))) counted++;
  const rawMs = performance.now() - rawStart;
  if (counted !== rows) throw new BenchError(`files: the raw pass read ${counted} rows, expected ${rows}`);
  log(`files: raw csv-parse ${int(rate(rows, rawMs))} rows/s`);

  const source = file.stream({
    name: 'items',
    key: 'id',
    columns: COLUMNS,
    file: { path, format: 'csv' },
  }).source;
  const sourceStart = performance.now();
  let read = 0;
  const args = {
    stream: 'items',
    checkpoint: null,
    signal: new AbortController().signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    report() {},
    deadline: null,
    request: { mode: 'sync' },
  } as unknown as SourceArgs;
  for await (const page of source(args)) read += page.records.length;
  const sourceMs = performance.now() - sourceStart;
  if (read !== rows) throw new BenchError(`files: the file source read ${read} rows, expected ${rows}`);
  log(`files: file source alone ${int(rate(rows, sourceMs))} rows/s`);

  writeFileSync(
    join(dir, 'syncline.config.yaml'),
    `streams:
  - name: items
    type: file
    key: id
    columns: { id: integer, amount: numeric, active: boolean, created_at: timestamp }
    file: { path: items.csv, format: csv }
`,
  );
  writeFileSync(
    join(dir, 'peak.mjs'),
    `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(join(dir, 'peak'))}, String(process.resourceUsage().maxRSS)));
`,
  );
  const store = await locations.fresh('sqlite');
  const sync = async (what: string): Promise<number> => {
    const started = performance.now();
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(
        process.execPath,
        ['--import', join(dir, 'peak.mjs'), BIN, 'sync', '--store', store.location],
        { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      child.on('error', fail);
      child.on('close', (c) =>
        c === 0 ? done(c) : fail(new BenchError(`files: ${what} exited ${c}: ${stderr}`)),
      );
    });
    const ms = performance.now() - started;
    log(`files: ${what} ${(ms / 1000).toFixed(2)} s (exit ${code})`);
    return ms;
  };
  const syncMs = await sync('first sync');
  const peakRssMb = Number(readFileSync(join(dir, 'peak'), 'utf8')) / 1024;
  const unchangedMs = await sync('unchanged sync');
  const later = new Date(Date.now() + 5000);
  utimesSync(path, later, later);
  const touchedMs = await sync('touched sync');
  await locations.drop(store);
  return { rows, bytes, rawMs, sourceMs, syncMs, unchangedMs, touchedMs, peakRssMb };
}

async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,name,email,amount,active,created_at\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += `${i},"Customer ${i}, Ltd",customer${i}@example.com,${(i % 10_000) / 100},${i % 3 === 0},2026-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
}

/** The section of RESULTS.md. */
export function filesSection(f: FilesScenario | null): string[] {
  if (!f) return [];
  const s = (ms: number) => (ms / 1000).toFixed(2);
  return [
    '## Files',
    '',
    `One CSV file, ${int(f.rows)} rows (${(f.bytes / 1e6).toFixed(0)} MB), into SQLite by \`syncline sync\` ` +
      '(a child process from a YAML config, start-up included), against a raw `csv-parse` pass over the same ' +
      'file in the bench process (header row to objects, rows counted, nothing else).',
    '',
    '| pass | s | rows/s | of raw |',
    '| --- | ---: | ---: | ---: |',
    `| raw csv-parse | ${s(f.rawMs)} | ${int(rate(f.rows, f.rawMs))} | 100% |`,
    `| the file source alone (pages read and dropped, types converted) | ${s(f.sourceMs)} | ${int(rate(f.rows, f.sourceMs))} | ${((f.rawMs / f.sourceMs) * 100).toFixed(0)}% |`,
    `| syncline sync, first load | ${s(f.syncMs)} | ${int(rate(f.rows, f.syncMs))} | ${((f.rawMs / f.syncMs) * 100).toFixed(0)}% |`,
    `| syncline sync, file unchanged (skipped unread) | ${s(f.unchangedMs)} | | |`,
    `| syncline sync, file touched (hashed, not parsed) | ${s(f.touchedMs)} | | |`,
    '',
    `Peak RSS of the loading sync: ${f.peakRssMb.toFixed(0)} MB.`,
    '',
  ];
}
