import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import boundaries of ARCHITECTURE.md, checked rather than remembered: arrows point inward.
 * Each room may import, besides npm packages and node built-ins, only the rooms listed. A room is a
 * folder of src/; a file belongs to the deepest room that holds it (`stores/sqlite/x.ts` to
 * `stores/sqlite`, `stores/x.ts` to `stores`). An entry ending in `/*` allows the files directly in
 * that folder, not its subfolders: `stores/*` is what both stores share, and neither store may
 * import the other.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  engine: ['core', 'engine'],
  sources: ['core', 'sources'],
  stores: ['core', 'stores/*'],
  'stores/sqlite': ['core', 'stores/*', 'stores/sqlite'],
  'stores/postgres': ['core', 'stores/*', 'stores/postgres'],
  sinks: ['core', 'sinks'],
  config: ['core', 'config'],
  simulator: ['simulator', 'core/canonical-json.ts', 'core/mix32.ts'],
  runtime: ['core', 'engine', 'sources', 'stores', 'sinks', 'config', 'runtime'],
  cli: ['*'],
  server: ['*'],
};

const SRC = resolve(import.meta.dirname, '../src');

/**
 * Source files whose imports are checked: modules and contract suites (`*.contract.ts` are shared
 * by every store's tests, so they keep the rules of their room). Unit tests may reach further
 * (test helpers, fixtures) and are not checked.
 */
function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (
      (entry.name.endsWith('.ts') || entry.name.endsWith('.mjs')) &&
      !entry.name.endsWith('.test.ts')
    ) {
      yield path;
    }
  }
}

/**
 * The relative specifiers a module depends on: static imports and re-exports (`import ... from`,
 * `export ... from`, also `import type` and multi-line lists), side-effect imports (`import './x'`),
 * dynamic imports and JSDoc type imports (`import('./x')`), and modules started from a URL
 * (`new URL('./worker.mjs', import.meta.url)`, how writer threads are loaded).
 */
function relativeImports(source: string): string[] {
  const patterns = [
    /^(?:import|export)[^'"]*?\sfrom\s+['"](\.[^'"]+)['"]/gm,
    /^import\s+['"](\.[^'"]+)['"]/gm,
    /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
    /\bnew URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

/** The room of a file (a path relative to src/): the deepest key of `ALLOWED` that holds it. */
function roomOf(file: string): string | undefined {
  const dirs = file.split('/').slice(0, -1);
  for (let n = dirs.length; n > 0; n--) {
    const room = dirs.slice(0, n).join('/');
    if (ALLOWED[room]) return room;
  }
  return undefined;
}

/** Whether `target` (a path relative to src/) is inside what `entry` of `ALLOWED` names. */
function allows(entry: string, target: string): boolean {
  if (entry.endsWith('/*')) return dirname(target) === entry.slice(0, -2);
  return target === entry || target.startsWith(`${entry}/`);
}

describe('architecture', () => {
  it('keeps every import inside the rooms its room may use', () => {
    const violations: string[] = [];
    for (const path of sourceFiles(SRC)) {
      const file = relative(SRC, path);
      if (!file.includes('/')) continue; // src/index.ts, the public surface
      const room = roomOf(file);
      if (!room) {
        violations.push(`${file}: room "${file.split('/')[0]}" is not in ARCHITECTURE.md`);
        continue;
      }
      const allowed = ALLOWED[room]!;
      if (allowed.includes('*')) continue;
      for (const specifier of relativeImports(readFileSync(path, 'utf8'))) {
        const target = relative(SRC, resolve(dirname(path), specifier));
        if (!allowed.some((entry) => allows(entry, target))) violations.push(`${file} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the two stores apart: each may use core and the files both share, not the other', () => {
    expect(ALLOWED['stores/sqlite']!.some((entry) => allows(entry, 'stores/postgres/postgres-rows.ts'))).toBe(
      false,
    );
    expect(ALLOWED['stores/postgres']!.some((entry) => allows(entry, 'stores/sqlite/sqlite-rows.ts'))).toBe(
      false,
    );
    expect(ALLOWED.stores!.some((entry) => allows(entry, 'stores/sqlite/sqlite-store.ts'))).toBe(false);
    expect(ALLOWED['stores/sqlite']!.some((entry) => allows(entry, 'stores/writer-thread.ts'))).toBe(true);
    expect(roomOf('stores/store.contract.ts')).toBe('stores');
    expect(roomOf('stores/postgres/postgres-store.ts')).toBe('stores/postgres');
  });

  it('finds static, type, side-effect, re-exported, dynamic, JSDoc and worker-URL imports', () => {
    const source = [
      "import { a } from './a.ts';",
      'import type {',
      '  B,',
      "} from '../b.ts';",
      "import './c.mjs';",
      "export { d } from './d.ts';",
      "const e = await import('../e/e.ts');",
      "/** @typedef {import('./f.mjs').F} F */",
      "new Worker(new URL('./g-worker.mjs', import.meta.url));",
      "import pg from 'pg';",
      "const h = 'import from ./not-an-import';",
    ].join('\n');
    expect(relativeImports(source).sort()).toEqual(
      ['./a.ts', '../b.ts', './c.mjs', './d.ts', '../e/e.ts', './f.mjs', './g-worker.mjs'].sort(),
    );
  });
});
