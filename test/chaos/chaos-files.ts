import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/runtime/open-store.ts';
import { seeded } from '../helpers/seeded-random.ts';
import { freshLocation } from '../helpers/stores.ts';

/**
 * Chaos for file streams: two streams over globs of files (`chaos_csv`: CSV with quoted commas,
 * quotes and line breaks in values; `chaos_ndjson`), both `onMissingFile: reconcile`. A seeded
 * generator rewrites files (atomically or in place), appends rows (sometimes half a line first, the
 * rest later), creates, deletes and touches files, between runs and while `syncline sync` runs;
 * each sync process is SIGKILLed at a random moment (or left to finish). When the time is up the
 * generator completes its half lines and stops, one `syncline sync` runs to its end (with the
 * reconciliation it owes), and each stream's live rows are compared with its files' final content:
 * missing (a row of a file not stored live), stale (stored with other values), zombie (stored live,
 * in no file), duplicated (a key stored twice). One summary line.
 */
export interface FileChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly store: 'sqlite' | 'postgres';
  /** Rows each stream starts with. Default 20,000. */
  readonly rows?: number;
  readonly log?: (line: string) => void;
}

export interface FileChaosReport {
  readonly ok: boolean;
  readonly summary: string;
  readonly differences: readonly string[];
}

const BIN = resolve(import.meta.dirname, '../../bin/syncline.mjs');

interface Row {
  id: number;
  rev: number;
  name: string;
}

type Format = 'csv' | 'ndjson';

/** One stream's files as the generator last wrote them: file name -> rows, in order. */
class Model {
  readonly files = new Map<string, Row[]>();
  /** Files ending in half a line (the rest to be appended). */
  readonly partial = new Map<string, string>();
  nextId = 1;
  constructor(
    readonly dir: string,
    readonly format: Format,
  ) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  render(rows: readonly Row[]): string {
    return (this.format === 'csv' ? 'id,rev,name\n' : '') + rows.map((r) => this.line(r)).join('');
  }

  line(r: Row): string {
    if (this.format === 'ndjson') return `${JSON.stringify(r)}\n`;
    return `${r.id},${r.rev},"${r.name.replaceAll('"', '""')}"\n`;
  }
}

export async function runFileChaos(options: FileChaosOptions): Promise<FileChaosReport> {
  const random = seeded(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'syncline-filechaos-'));
  const { location, drop } = await freshLocation(options.store);
  const models = (['csv', 'ndjson'] as const).map((format) => {
    const data = join(dir, format);
    mkdirSync(data);
    return new Model(data, format);
  });
  writeFileSync(
    join(dir, 'syncline.config.yaml'),
    `streams:
${models
  .map(
    (m) => `  - name: chaos_${m.format}
    type: file
    key: id
    columns: { id: integer, rev: integer }
    reconcile: { maxDeleteShare: 1 }
    file: { glob: ${m.format}/*.${m.format}, format: ${m.format}, onMissingFile: reconcile, pageSize: 500 }
`,
  )
  .join('')}`,
  );

  const name = (id: number, rev: number) => {
    const kinds = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', 'ünïcödé'];
    return `row ${id} rev ${rev} ${pick(kinds)}`;
  };
  const newRow = (m: Model): Row => {
    const id = m.nextId++;
    return { id, rev: 0, name: name(id, 0) };
  };
  let fileSeq = 0;
  const counts = { rewrites: 0, appends: 0, halfLines: 0, creates: 0, deletes: 0, touches: 0 };

  const write = (m: Model, file: string, rows: Row[], atomic: boolean) => {
    m.files.set(file, rows);
    m.partial.delete(file);
    if (atomic) {
      const tmp = join(dir, `.tmp-${fileSeq++}`);
      writeFileSync(tmp, m.render(rows));
      renameSync(tmp, m.path(file));
    } else writeFileSync(m.path(file), m.render(rows));
  };
  const create = (m: Model, count: number) => {
    const file = `part-${String(fileSeq++).padStart(4, '0')}.${m.format}`;
    write(
      m,
      file,
      Array.from({ length: count }, () => newRow(m)),
      true,
    );
    counts.creates++;
  };
  const finishPartial = (m: Model, file: string) => {
    const rest = m.partial.get(file);
    if (rest === undefined) return;
    appendFileSync(m.path(file), rest);
    m.partial.delete(file);
  };

  /** One change to one stream's files, chosen at random. */
  const mutate = () => {
    const m = pick(models);
    const files = [...m.files.keys()];
    const roll = random();
    if (files.length === 0 || roll < 0.1) return create(m, 200 + Math.floor(random() * 3000));
    const file = pick(files);
    const rows = m.files.get(file)!;
    if (roll < 0.45) {
      // Rewrite: change, drop and add rows.
      const next: Row[] = [];
      for (const r of rows) {
        const x = random();
        if (x < 0.03) continue;
        next.push(x < 0.1 ? { ...r, rev: r.rev + 1, name: name(r.id, r.rev + 1) } : r);
      }
      for (let i = Math.floor(random() * 50); i > 0; i--)
        next.splice(Math.floor(random() * next.length), 0, newRow(m));
      write(m, file, next, random() < 0.7);
      counts.rewrites++;
    } else if (roll < 0.75) {
      finishPartial(m, file);
      const added = Array.from({ length: 1 + Math.floor(random() * 400) }, () => newRow(m));
      let text = added.map((r) => m.line(r)).join('');
      rows.push(...added);
      if (random() < 0.4) {
        // Half of the last line now, the rest later: a writer caught mid-line.
        const cut = text.length - 1 - Math.floor(random() * (m.line(added.at(-1)!).length - 1));
        m.partial.set(file, text.slice(cut));
        text = text.slice(0, cut);
        counts.halfLines++;
      }
      appendFileSync(m.path(file), text);
      counts.appends++;
    } else if (roll < 0.85) {
      if (files.length > 1) {
        m.files.delete(file);
        m.partial.delete(file);
        rmSync(m.path(file));
        counts.deletes++;
      } else create(m, 500);
    } else {
      const at = new Date(Date.now() + Math.floor(random() * 10_000));
      utimesSync(m.path(file), at, at);
      counts.touches++;
    }
  };

  for (const m of models) for (let i = 0; i < 3; i++) create(m, Math.floor((options.rows ?? 20_000) / 3));

  const started = Date.now();
  let processes = 0;
  let killed = 0;
  let mutations = 0;
  const differences: string[] = [];
  const problems: string[] = [];
  try {
    while (Date.now() - started < options.durationMs) {
      const child = spawnSync(dir, location);
      processes++;
      const done = exited(child);
      const killAt = random() < 0.8 ? 50 + random() * 2500 : Number.POSITIVE_INFINITY;
      const mutateAt = random() < 0.5 ? random() * 2000 : Number.POSITIVE_INFINITY;
      const t0 = Date.now();
      let mutatedDuring = false;
      while (child.exitCode === null && child.signalCode === null) {
        const elapsed = Date.now() - t0;
        if (!mutatedDuring && elapsed >= mutateAt) {
          mutate();
          mutations++;
          mutatedDuring = true;
        }
        if (elapsed >= killAt) {
          child.kill('SIGKILL');
          killed++;
          break;
        }
        await sleep(20);
      }
      const result = await done;
      if (result.code !== null && result.code !== 0)
        problems.push(`sync exited ${result.code}: ${result.stderr.slice(-300)}`);
      log(`process ${processes}: ${result.signal ?? `exit ${result.code}`} after ${Date.now() - t0} ms`);
      for (let i = Math.floor(random() * 4); i > 0; i--) {
        mutate();
        mutations++;
      }
    }
    for (const m of models) for (const file of [...m.partial.keys()]) finishPartial(m, file);
    const final = await exited(spawnSync(dir, location));
    processes++;
    if (final.code !== 0) problems.push(`the final sync exited ${final.code}: ${final.stderr.slice(-500)}`);

    const store = await openStore(location);
    const tallies: string[] = [];
    try {
      for (const m of models) {
        const stream = `chaos_${m.format}`;
        const expected = new Map<string, Row>();
        for (const rows of m.files.values()) for (const r of rows) expected.set(String(r.id), r);
        const stored = await store.scanRecords(stream, { limit: 10_000_000 });
        const seen = new Set<string>();
        const bad = { missing: 0, stale: 0, zombie: 0, duplicated: 0 };
        const note = (kind: keyof typeof bad, key: string) => {
          bad[kind]++;
          if (differences.length < 50) differences.push(`${stream} ${kind} ${key}`);
        };
        for (const row of stored) {
          if (seen.has(row.key)) note('duplicated', row.key);
          seen.add(row.key);
          const want = expected.get(row.key);
          if (row.deletedAt !== null) {
            if (want) note('missing', row.key);
            continue;
          }
          if (!want) note('zombie', row.key);
          else if (!sameRow(row.data, want)) note('stale', row.key);
        }
        for (const key of expected.keys()) if (!seen.has(key)) note('missing', key);
        tallies.push(
          `${stream} ${expected.size.toLocaleString('en')} rows in ${m.files.size} files: ${bad.missing} missing, ` +
            `${bad.stale} stale, ${bad.zombie} zombie, ${bad.duplicated} duplicated`,
        );
      }
    } finally {
      await store.close();
    }
    const summary =
      `files chaos: seed ${options.seed}, ${options.store}, ${processes} sync processes (${killed} killed), ` +
      `${mutations} mutations (${counts.rewrites} rewrites, ${counts.appends} appends of which ${counts.halfLines} ` +
      `half lines, ${counts.creates} files created, ${counts.deletes} deleted, ${counts.touches} touched); ` +
      `${tallies.join('; ')}${problems.length > 0 ? `; ${problems.length} problems` : ''}`;
    return {
      ok: differences.length === 0 && problems.length === 0,
      summary,
      differences: [...problems, ...differences],
    };
  } finally {
    await drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnSync(dir: string, location: string): ChildProcess {
  const { FORCE_COLOR: _f, NO_COLOR: _n, ...env } = process.env;
  return spawn(process.execPath, [BIN, 'sync', '--store', location], {
    cwd: dir,
    env: { ...(env as Record<string, string>), SYNCLINE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((done) => child.on('close', (code, signal) => done({ code, signal, stderr })));
}

function sameRow(data: unknown, want: Row): boolean {
  const d = data as Partial<Row> | null;
  return d?.id === want.id && d.rev === want.rev && d.name === want.name && Object.keys(d).length === 3;
}
