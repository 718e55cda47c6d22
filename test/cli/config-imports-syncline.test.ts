import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-harness.ts';

const INDEX = resolve(import.meta.dirname, '../../src/index.ts');

/**
 * A user's project: a `syncline.config.ts` that imports Syncline by its package name, and no
 * `node_modules` unless `installed` (then a `node_modules/syncline` that is another copy of the
 * package: it re-exports the sources by path, which tsx loads as a copy of their own).
 *
 * Its one stream reports whether the error the engine throws for a missing secret is an instance of
 * the config's `ConfigError` by prototype (the brand check of core/errors.ts aside): true only
 * when the config's `syncline` is the running CLI's own module.
 */
function project(options: { type: 'commonjs' | 'module'; file?: string; installed?: boolean }): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-import-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-sync', type: options.type }));
  if (options.installed) {
    const pkg = join(dir, 'node_modules', 'syncline');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'syncline', type: 'module', exports: { '.': './index.js' } }),
    );
    writeFileSync(join(pkg, 'index.js'), `export * from ${JSON.stringify(pathToFileURL(INDEX).href)};\n`);
  }
  writeFileSync(
    join(dir, options.file ?? 'syncline.config.ts'),
    `import { ConfigError, defineConfig, defineStream } from 'syncline';
export default defineConfig({
  streams: [
    defineStream({
      name: 'items',
      key: 'id',
      async *source({ secret }) {
        let sameClass = false;
        try {
          secret('SYNCLINE_TEST_NEVER_SET');
        } catch (error) {
          sameClass = Object.getPrototypeOf(error) === ConfigError.prototype;
        }
        yield { records: [{ id: 1, sameClass }, { id: 2, sameClass }], checkpoint: { done: true } };
      },
    }),
  ],
});
`,
  );
  return dir;
}

function storedRecords(dir: string): unknown[] {
  const db = new Database(join(dir, 'syncline.db'), { readonly: true });
  try {
    return (db.prepare('select _data from items order by _key').all() as { _data: string }[]).map((r) =>
      JSON.parse(r._data),
    );
  } finally {
    db.close();
  }
}

describe("a config's `import ... from 'syncline'`", () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  // A CommonJS config is required through tsx's CommonJS loader, an ES module config imported through
  // its ES module loader (src/config/load-config.ts): by its package's type, or by its extension.
  it.each([
    { type: 'commonjs', file: 'syncline.config.ts' },
    { type: 'module', file: 'syncline.config.ts' },
    { type: 'commonjs', file: 'syncline.config.mts' },
  ] as const)(
    'resolves to the running Syncline with no node_modules beside $file (a $type package), and syncs',
    async ({ type, file }) => {
      dir = project({ type, file });
      const result = await runCli(['sync', '--json'], dir);
      expect(result.stderr).not.toContain('Cannot find');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)[0]).toMatchObject({ status: 'ok', counters: { inserted: 2 } });
      // The same module as the CLI's, not a copy loaded beside it.
      expect(storedRecords(dir)).toEqual([
        { id: 1, sameClass: true },
        { id: 2, sameClass: true },
      ]);
    },
    180_000,
  );

  it("is the running Syncline for a plain CommonJS syncline.config.js too: require('syncline'), module.exports", async () => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-import-'));
    writeFileSync(
      join(dir, 'syncline.config.js'),
      `const { defineConfig, defineStream } = require('syncline');
module.exports = defineConfig({
  streams: [
    defineStream({
      name: 'items',
      key: 'id',
      async *source() {
        yield { records: [{ id: 1 }], checkpoint: { done: true } };
      },
    }),
  ],
});
`,
    );
    const result = await runCli(['sync', '--json'], dir);
    expect(result.stderr).not.toContain('syncline:');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)[0]).toMatchObject({ status: 'ok', counters: { inserted: 1 } });
  }, 180_000);

  it('is the running Syncline even when another copy is installed in node_modules beside the config', async () => {
    dir = project({ type: 'module', installed: true });
    const result = await runCli(['sync', '--json'], dir);
    expect(result.code).toBe(0);
    expect(storedRecords(dir)).toEqual([
      { id: 1, sameClass: true },
      { id: 2, sameClass: true },
    ]);
  }, 180_000);
});
