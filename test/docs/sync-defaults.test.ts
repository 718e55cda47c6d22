import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

/** `sync` settings whose default resolveConfig fills in, and is documented in three places. */
const SETTINGS = ['maxPagesInFlight', 'concurrency', 'leaseTtlMs'] as const;

describe('the documented sync defaults', () => {
  const applied = resolveConfig({ streams: [{ name: 's', key: 'id', async *source() {} }] }).sync;

  it.each(SETTINGS)(
    '%s: the README table and the SyncSettings doc comment say what resolveConfig applies',
    (name) => {
      const row = new RegExp(`^\\| \`sync\\.${name}\` \\| (\\d+) \\|`, 'm').exec(read('README.md'));
      expect(Number(row?.[1])).toBe(applied[name]);
      const comment = new RegExp(`Default (\\d+)\\.[^/]*\\*/\\s*readonly ${name}\\?`).exec(
        read('src/config/define-config.ts'),
      );
      expect(Number(comment?.[1])).toBe(applied[name]);
    },
  );

  it('maxPagesInFlight: the engine and docs/architecture.md use the same default', () => {
    expect(read('src/engine/stream-runner.ts')).toContain(`maxPagesInFlight ?? ${applied.maxPagesInFlight}`);
    expect(read('docs/architecture.md')).toContain(
      `(\`maxPagesInFlight\`, default ${applied.maxPagesInFlight})`,
    );
  });
});
