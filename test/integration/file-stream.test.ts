import { appendFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Page, SourceArgs } from '../../src/core/source.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Checkpoint, Logger, RunRequest } from '../../src/core/types.ts';
import { runStreams, type StreamOutcome } from '../../src/runtime/run-streams.ts';
import type { FileConfig } from '../../src/sources/file/file-stream-config.ts';
import { file } from '../../src/sources/file/index.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function fileStream(config: Partial<FileConfig> & Pick<FileConfig, 'format'>, pathOrGlob: object) {
  return file.stream({
    name: 'items',
    key: 'id',
    columns: { id: 'integer', name: 'text', price: 'numeric', active: 'boolean' },
    reconcile: { maxDeleteShare: 1 },
    file: { ...pathOrGlob, ...config } as FileConfig,
  });
}

/** Reads a source by hand (no store), as the engine would: every page of one run. */
async function pagesOf(
  def: AnyStreamDefinition,
  checkpoint: Checkpoint,
  mode: RunRequest = { mode: 'sync' },
) {
  const pages: Page[] = [];
  const args = {
    stream: def.name,
    checkpoint,
    signal: new AbortController().signal,
    log: silent,
    report() {},
    attempt: async (op: (n: number) => Promise<unknown>) => op(1),
    observeLimit() {},
    deadline: null,
    secret: () => '',
    request: mode,
  } as unknown as SourceArgs;
  for await (const page of def.source(args)) pages.push(page);
  return pages;
}

describe.each(STORE_KINDS)('file streams on %s', (kind) => {
  let t: TestStore;
  let dir: string;
  beforeEach(async () => {
    t = await makeTestStore(kind);
    dir = mkdtempSync(join(tmpdir(), 'syncline-files-'));
  });
  afterEach(async () => {
    await t.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sync(
    def: AnyStreamDefinition,
    request: RunRequest = { mode: 'sync' },
  ): Promise<StreamOutcome[]> {
    const config = resolveConfig({ store: t.location, streams: [def] });
    return runStreams({ config, store: t.store, events: new SyncEventBus(), log: silent, request });
  }

  async function live(): Promise<Record<string, unknown>> {
    const rows = await t.store.scanRecords('items', { limit: 10_000 });
    return Object.fromEntries(rows.filter((r) => r.deletedAt === null).map((r) => [r.key, r.data]));
  }

  /** Writes the file and moves its mtime, so the change is seen even within one clock tick. */
  function write(name: string, text: string, tick = 0): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    const at = new Date(Date.now() + tick * 1000);
    utimesSync(path, at, at);
    return path;
  }

  const formats = {
    csv: {
      file: 'items.csv',
      render: (rows: { id: number; name: string; price: string }[]) =>
        `id,name,price,active\n${rows.map((r) => `${r.id},"${r.name}",${r.price},yes\n`).join('')}`,
    },
    ndjson: {
      file: 'items.ndjson',
      render: (rows: { id: number; name: string; price: string }[]) =>
        rows
          .map((r) => `${JSON.stringify({ id: r.id, name: r.name, price: Number(r.price), active: true })}\n`)
          .join(''),
    },
    json: {
      file: 'items.json',
      render: (rows: { id: number; name: string; price: string }[]) =>
        `[\n${rows.map((r) => JSON.stringify({ id: r.id, name: r.name, price: Number(r.price), active: true })).join(',\n')}\n]\n`,
    },
  } as const;

  describe.each(['csv', 'ndjson', 'json'] as const)('%s', (format) => {
    const f = formats[format];
    const rows = [
      { id: 1, name: 'Ada, Countess', price: '10.5' },
      { id: 2, name: 'Brian', price: '20' },
      { id: 3, name: 'Chen', price: '30' },
    ];

    it('loads, skips an unchanged file unread, and follows a changed, an added and a removed row', async () => {
      const path = write(f.file, f.render(rows));
      const def = fileStream({ format, onMissingFile: 'reconcile', pageSize: 2 }, { path });
      const [first] = await sync(def);
      expect(first).toMatchObject({ status: 'ok', counters: { inserted: 3, pages: 2 } });
      expect(await live()).toEqual({
        '1': { id: 1, name: 'Ada, Countess', price: 10.5, active: true },
        '2': { id: 2, name: 'Brian', price: 20, active: true },
        '3': { id: 3, name: 'Chen', price: 30, active: true },
      });

      const [again] = await sync(def);
      expect(again).toMatchObject({ status: 'ok', counters: { fetched: 0, bytes: 0, inserted: 0 } });

      // Same content, newer mtime: hashed, not parsed.
      write(f.file, f.render(rows), 5);
      const [touched] = await sync(def);
      expect(touched).toMatchObject({ status: 'ok', counters: { fetched: 0, bytes: 0 } });

      // Row 2 changed, row 3 removed, row 4 added: the sync applies the first two, the
      // reconciliation it owes deletes row 3.
      write(
        f.file,
        f.render([rows[0]!, { ...rows[1]!, name: 'Brianna' }, { id: 4, name: 'Dee', price: '40' }]),
        10,
      );
      const [changed] = await sync(def);
      expect(changed).toMatchObject({ status: 'ok', counters: { deleted: 1 } });
      const runs = await t.store.listRuns({ stream: 'items', limit: 5 });
      expect(runs.map((r) => [r.mode, r.status])).toEqual([
        ['reconcile', 'ok'],
        ['sync', 'ok'],
        ['sync', 'ok'],
        ['sync', 'ok'],
        ['sync', 'ok'],
      ]);
      expect(runs[1]!.counters).toMatchObject({ inserted: 1, updated: 1, unchanged: 1, deleted: 0 });
      expect(Object.keys(await live()).sort()).toEqual(['1', '2', '4']);
      expect((await live())['2']).toMatchObject({ name: 'Brianna' });

      // Nothing changed since: no reconciliation again.
      const [quiet] = await sync(def);
      expect(quiet).toMatchObject({ status: 'ok', counters: { fetched: 0 } });
      expect((await t.store.listRuns({ stream: 'items', limit: 1 }))[0]!.mode).toBe('sync');
    });

    it('with onMissingFile: ignore, a removed row stays until `syncline reconcile`', async () => {
      const path = write(f.file, f.render(rows));
      const def = fileStream({ format }, { path });
      await sync(def);
      write(f.file, f.render(rows.slice(0, 2)), 5);
      const [second] = await sync(def);
      expect(second).toMatchObject({ status: 'ok', counters: { unchanged: 2, deleted: 0 } });
      expect(Object.keys(await live()).sort()).toEqual(['1', '2', '3']);
      const [reconcile] = await sync(def, { mode: 'reconcile' });
      expect(reconcile).toMatchObject({ status: 'ok', counters: { deleted: 1 } });
      expect(Object.keys(await live()).sort()).toEqual(['1', '2']);
    });

    it('holds back a truncated last line until it is whole, and dead-letters it if it never is', async () => {
      const whole = f.render(rows);
      const cut = format === 'json' ? whole.slice(0, whole.lastIndexOf('Chen') + 2) : whole.slice(0, -8);
      const path = write(f.file, cut);
      const def = fileStream({ format }, { path });
      const [first] = await sync(def);
      expect(first).toMatchObject({ status: 'ok', counters: { inserted: 2, failed: 0 } });
      write(f.file, whole, 5);
      const [second] = await sync(def);
      // CSV and NDJSON: the file grew, so only the line held back and what follows are read.
      expect(second).toMatchObject({
        status: 'ok',
        counters: { inserted: 1, unchanged: format === 'json' ? 2 : 0, failed: 0 },
      });
      expect(Object.keys(await live()).sort()).toEqual(['1', '2', '3']);

      // Cut short again and left so: held back once, then a dead letter naming the line.
      write(f.file, cut, 10);
      await sync(def);
      expect(await t.store.listDeadLetters({ stream: 'items', limit: 10 })).toHaveLength(0);
      const [third] = await sync(def);
      expect(third).toMatchObject({ status: 'ok', counters: { failed: 1 } });
      const [letter] = await t.store.listDeadLetters({ stream: 'items', limit: 10 });
      expect(letter!.reason).toMatch(new RegExp(`${f.file} line ${format === 'ndjson' ? 3 : 4}: `));
    });
  });

  it('dead-letters malformed rows with their file and line, and goes on', async () => {
    const csv = write('a.csv', 'id,name\n1,Ada\n2,Brian,extra\n3,Chen\n');
    const ndjson = write('b.ndjson', '{"id":10,"name":"x"}\n{"id":11,\n[1]\n{"id":12,"name":"y"}\n');
    const [outcome] = await sync(
      file.stream({ name: 'items', key: 'id', file: { glob: join(dir, '*.csv'), format: 'csv' } }),
    );
    expect(outcome!.status).toBe('ok');
    await sync(file.stream({ name: 'other', key: 'id', file: { path: ndjson, format: 'ndjson' } }));
    expect(Object.keys(await live()).sort()).toEqual(['1', '3']);
    const other = await t.store.scanRecords('other', { limit: 10 });
    expect(other.map((r) => r.key).sort()).toEqual(['10', '12']);
    const reasons = (await t.store.listDeadLetters({ limit: 10 })).map((l) => l.reason).sort();
    expect(reasons[0]).toMatch(/a\.csv line 3: 3 fields where the header has 2/);
    expect(reasons.some((r) => /b\.ndjson line 2: not JSON/.test(r))).toBe(true);
    expect(reasons.some((r) => /b\.ndjson line 3: an array, not an object/.test(r))).toBe(true);
    expect(csv).toBeTruthy();
  });

  it('reads only what was appended to a file that grew, and owes no reconciliation for it', async () => {
    const path = write('log.ndjson', '{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n');
    const def = fileStream({ format: 'ndjson', onMissingFile: 'reconcile' }, { path });
    await sync(def);
    const more = '{"id":3,"v":"c"}\n{"id":4,"v":"d"}\n';
    appendFileSync(path, more);
    const [grown] = await sync(def);
    expect(grown).toMatchObject({ status: 'ok', counters: { fetched: 2, inserted: 2, bytes: more.length } });
    expect((await t.store.listRuns({ stream: 'items', limit: 10 })).map((r) => r.mode)).not.toContain(
      'reconcile',
    );
    expect(Object.keys(await live()).sort()).toEqual(['1', '2', '3', '4']);

    // Old bytes changed and the file grew: a change, read whole, with the reconciliation it owes.
    write(
      'log.ndjson',
      '{"id":1,"v":"a"}\n{"id":4,"v":"d"}\n{"id":5,"v":"e"}\n{"id":6,"v":"f"}\n{"id":7,"v":"g"}\n',
      5,
    );
    const [changed] = await sync(def);
    expect(changed).toMatchObject({ status: 'ok', counters: { deleted: 2 } });
    expect(Object.keys(await live()).sort()).toEqual(['1', '4', '5', '6', '7']);
  });

  it('an append to a CSV re-reads a last line that had no line end, and never takes the header for a row', async () => {
    const path = write('people.csv', 'id,name\n');
    const def = fileStream({ format: 'csv' }, { path });
    await sync(def);
    appendFileSync(path, '1,Ann\n3,Carol');
    const [first] = await sync(def);
    expect(first).toMatchObject({ status: 'ok', counters: { inserted: 2, failed: 0 } });
    appendFileSync(path, 'ine\n4,Dan\n');
    const [second] = await sync(def);
    expect(second).toMatchObject({ status: 'ok', counters: { inserted: 1, updated: 1, failed: 0 } });
    expect(second!.counters.bytes).toBeLessThan(30);
    expect(await live()).toEqual({
      '1': { id: 1, name: 'Ann' },
      '3': { id: 3, name: 'Caroline' },
      '4': { id: 4, name: 'Dan' },
    });
  });

  it('a glob: a file gone means deletes (onMissingFile: reconcile); none matching is no error', async () => {
    const def = fileStream(
      { format: 'ndjson', onMissingFile: 'reconcile' },
      { glob: join(dir, 'part-*.ndjson') },
    );
    const [empty] = await sync(def);
    expect(empty).toMatchObject({ status: 'ok', counters: { fetched: 0 } });
    write('part-1.ndjson', '{"id":1}\n{"id":2}\n');
    const second = write('part-2.ndjson', '{"id":3}\n');
    await sync(def);
    expect(Object.keys(await live()).sort()).toEqual(['1', '2', '3']);
    rmSync(second);
    const [gone] = await sync(def);
    expect(gone).toMatchObject({ status: 'ok', counters: { deleted: 1 } });
    expect(Object.keys(await live()).sort()).toEqual(['1', '2']);
  });
});

describe('file stream positions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['csv', 'ndjson', 'json'] as const)(
    '%s: resumes inside a file from a page checkpoint, and restarts a file that changed',
    async (format) => {
      const n = 2500;
      const lines = Array.from({ length: n }, (_, i) => ({ id: i, note: `row "${i}"\nnext` }));
      const text =
        format === 'csv'
          ? `id,note\n${lines.map((r) => `${r.id},"${r.note.replaceAll('"', '""')}"\n`).join('')}`
          : format === 'ndjson'
            ? lines.map((r) => `${JSON.stringify(r)}\n`).join('')
            : `[${lines.map((r) => JSON.stringify(r)).join(',\n')}]`;
      const path = join(dir, `f.${format}`);
      writeFileSync(path, text);
      const def = file.stream({
        name: 'items',
        key: 'id',
        columns: { id: 'integer' },
        file: { path, format },
      });
      const all = await pagesOf(def, null);
      expect(all.map((p) => p.records.length)).toEqual([1000, 1000, 500]);
      const resumed = await pagesOf(def, all[0]!.checkpoint);
      expect(resumed.flatMap((p) => p.records)).toEqual(all.slice(1).flatMap((p) => p.records));
      expect(resumed[0]!.records[0] as { id: number; note: string }).toEqual({
        id: 1000,
        note: 'row "1000"\nnext',
      });
      expect(resumed.at(-1)!.checkpoint).toEqual(all.at(-1)!.checkpoint);

      appendFileSync(path, format === 'json' ? ' ' : '\n');
      const restarted = await pagesOf(def, all[0]!.checkpoint);
      expect(restarted.flatMap((p) => p.records)).toHaveLength(n);
    },
  );
  it.each(['csv', 'ndjson'] as const)(
    '%s: a read of an append killed after a page resumes inside the append',
    async (format) => {
      const path = join(dir, `g.${format}`);
      const line = (i: number) =>
        format === 'csv' ? `${i},"n ${i}"\n` : `${JSON.stringify({ id: i, name: `n ${i}` })}\n`;
      writeFileSync(path, `${format === 'csv' ? 'id,name\n' : ''}${line(0)}`);
      const def = file.stream({
        name: 'items',
        key: 'id',
        columns: { id: 'integer' },
        file: { path, format },
      });
      const first = await pagesOf(def, null);
      appendFileSync(path, Array.from({ length: 2500 }, (_, i) => line(i + 1)).join(''));
      const grown = await pagesOf(def, first.at(-1)!.checkpoint);
      expect(grown.flatMap((p) => p.records)).toHaveLength(2500);
      const resumed = await pagesOf(def, grown[0]!.checkpoint);
      expect(resumed.flatMap((p) => p.records)).toEqual(grown.slice(1).flatMap((p) => p.records));
      expect(resumed[0]!.records[0]).toEqual({ id: 1001, name: 'n 1001' });
    },
  );
});
