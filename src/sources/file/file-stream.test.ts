import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, FatalError } from '../../core/errors.ts';
import type { Page, SourceArgs } from '../../core/source.ts';
import type { AnyStreamDefinition } from '../../core/stream-definition.ts';
import { fileStream } from './file-stream.ts';
import type { FileConfig } from './file-stream-config.ts';
import { convert } from './read-csv.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function read(
  def: AnyStreamDefinition,
  mode: 'sync' | 'reconcile' | 'backfill' = 'sync',
): Promise<Page[]> {
  const args = {
    stream: def.name,
    checkpoint: null,
    signal: new AbortController().signal,
    log: quiet,
    report() {},
    deadline: null,
    request: mode === 'backfill' ? { mode, range: { from: '2026-01-01', to: '2026-02-01' } } : { mode },
  } as unknown as SourceArgs;
  const pages: Page[] = [];
  for await (const page of def.source(args)) pages.push(page);
  return pages;
}

describe('file streams', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-file-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stream = (file: Partial<FileConfig>, extra: object = {}) =>
    fileStream({ name: 'items', key: 'id', ...extra, file: file as FileConfig });

  it('refuses a bad file block with a ConfigError naming the stream and the field', () => {
    const cases: [Partial<FileConfig>, RegExp][] = [
      [{ format: 'csv' }, /stream "items": file\.path: give either path or glob/],
      [{ path: 'a', glob: '*.csv', format: 'csv' }, /file\.path: give either path or glob/],
      [{ path: 'a', format: 'xml' as 'csv' }, /file\.format: must be csv, ndjson or json/],
      [{ path: 'a', format: 'ndjson', delimiter: ';' }, /file\.delimiter: only a csv file has a delimiter/],
      [{ path: 'a', format: 'csv', delimiter: ';;' }, /file\.delimiter: must be one character/],
      [
        { path: 'a', format: 'csv', header: false },
        /file\.header: a file without a header row needs the field names/,
      ],
      [
        { path: 'a', format: 'csv', onMissingFile: 'delete' as 'ignore' },
        /file\.onMissingFile: must be ignore or reconcile/,
      ],
      [{ path: 'a', format: 'csv', pageSize: 0 }, /file\.pageSize/],
    ];
    for (const [file, message] of cases) {
      expect(() => stream(file)).toThrow(ConfigError);
      expect(() => stream(file)).toThrow(message);
    }
  });

  it('converts CSV cells by declared type, and keeps what does not convert as text', () => {
    expect(convert('integer', '42')).toBe(42);
    expect(convert('integer', '9007199254740993')).toBe('9007199254740993');
    expect(convert('integer', 'x')).toBe('x');
    expect(convert('numeric', '12.5')).toBe(12.5);
    expect(convert('numeric', '12.50')).toBe('12.50');
    expect(convert('boolean', 'Yes')).toBe(true);
    expect(convert('boolean', '0')).toBe(false);
    expect(convert('boolean', 'maybe')).toBe('maybe');
    expect(convert('json', '{"a":[1]}')).toEqual({ a: [1] });
    expect(convert('timestamp', '2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00Z');
  });

  it('reads CSV with a BOM, another delimiter and quote, a header given in config, and latin1', async () => {
    writeFileSync(join(dir, 'a.csv'), "\uFEFFid;name\n1;'a;b'\n2;\n");
    const [page] = await read(
      stream(
        { path: join(dir, 'a.csv'), format: 'csv', delimiter: ';', quote: "'" },
        { columns: { id: 'integer' } },
      ),
    );
    expect(page!.records).toEqual([
      { id: 1, name: 'a;b' },
      { id: 2, name: null },
    ]);
    writeFileSync(join(dir, 'b.csv'), Buffer.from('7,caf\xe9\n', 'latin1'));
    const [b] = await read(
      stream({ path: join(dir, 'b.csv'), format: 'csv', header: ['id', 'name'], encoding: 'latin1' }),
    );
    expect(b!.records).toEqual([{ id: '7', name: 'café' }]);
  });

  it('splits a JSON array whose strings hold brackets, quotes and escapes, and rejects elements that are not objects', async () => {
    const text =
      '[ {"id":1,"s":"a]}\\"[{"} ,\n  {"id":2,"n":{"x":[1,{"y":"}"}]}}, 3, "str", null,\n {"id":4}]\n';
    writeFileSync(join(dir, 'a.json'), text);
    const [page] = await read(stream({ path: join(dir, 'a.json'), format: 'json' }));
    expect(page!.records).toEqual([{ id: 1, s: 'a]}"[{' }, { id: 2, n: { x: [1, { y: '}' }] } }, { id: 4 }]);
    expect(page!.rejects?.map((r) => r.reason)).toEqual([
      expect.stringMatching(/a\.json line 2: an element: a number, not an object/),
      expect.stringMatching(/a\.json line 2: an element: a string, not an object/),
      expect.stringMatching(/a\.json line 2: an element: null, not an object/),
    ]);
  });

  it('fails the run on a file that is not a JSON array, and on a mode it cannot serve', async () => {
    writeFileSync(join(dir, 'a.json'), '{"id":1}\n');
    await expect(read(stream({ path: join(dir, 'a.json'), format: 'json' }))).rejects.toThrow(
      /line 1: not a JSON array/,
    );
    await expect(read(stream({ path: join(dir, 'a.json'), format: 'json' }), 'backfill')).rejects.toThrow(
      FatalError,
    );
  });

  it('takes a last line without a line end as a record when it parses whole (exports often end so)', async () => {
    writeFileSync(join(dir, 'a.csv'), 'id,name\n1,a\n2,"b\nc"');
    writeFileSync(join(dir, 'b.ndjson'), '{"id":1}\n{"id":2}');
    writeFileSync(join(dir, 'c.json'), '[{"id":1},{"id":2}');
    for (const [name, format] of [
      ['a.csv', 'csv'],
      ['b.ndjson', 'ndjson'],
      ['c.json', 'json'],
    ] as const) {
      const pages = await read(stream({ path: join(dir, name), format }));
      expect(
        pages.flatMap((p) => p.records).map((r) => String((r as { id: unknown }).id)),
        name,
      ).toEqual(['1', '2']);
      expect(
        pages.flatMap((p) => p.rejects ?? []),
        name,
      ).toEqual([]);
    }
  });

  it('holds back a last line cut short, and a reconciliation dead-letters it', async () => {
    writeFileSync(join(dir, 'a.csv'), 'id,name\n1,a\n2,"b');
    writeFileSync(join(dir, 'b.ndjson'), '{"id":1}\n{"id":2,"na');
    for (const [name, format] of [
      ['a.csv', 'csv'],
      ['b.ndjson', 'ndjson'],
    ] as const) {
      const def = stream({ path: join(dir, name), format });
      const synced = await read(def);
      expect(
        synced.flatMap((p) => p.records),
        name,
      ).toHaveLength(1);
      expect(
        synced.flatMap((p) => p.rejects ?? []),
        name,
      ).toEqual([]);
      const scanned = await read(def, 'reconcile');
      expect(
        scanned.flatMap((p) => p.records),
        name,
      ).toHaveLength(1);
      expect(
        scanned.flatMap((p) => p.rejects ?? []).map((r) => r.reason),
        name,
      ).toEqual([
        expect.stringMatching(new RegExp(`${name.replace('.', '\\.')} line ${format === 'csv' ? 3 : 2}: `)),
      ]);
    }
  });

  it('reads nothing, without failing, when no file matches yet', async () => {
    const pages = await read(stream({ glob: join(dir, 'none-*.csv'), format: 'csv' }));
    expect(pages.flatMap((p) => p.records)).toEqual([]);
    const missing = await read(stream({ path: join(dir, 'nope.ndjson'), format: 'ndjson' }));
    expect(missing.flatMap((p) => p.records)).toEqual([]);
  });
});
