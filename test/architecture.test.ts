import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The import boundaries of ARCHITECTURE.md, checked rather than remembered: arrows point inward.
 * Each room may import, besides npm packages and node built-ins, only the rooms listed.
 */
const ALLOWED: Record<string, readonly string[]> = {
  core: ['core'],
  engine: ['core', 'engine'],
  sources: ['core', 'sources'],
  stores: ['core', 'stores'],
  sinks: ['core', 'sinks'],
  config: ['core', 'config'],
  simulator: ['simulator', 'core/canonical-json.ts', 'core/mix32.ts'],
  runtime: ['core', 'engine', 'sources', 'stores', 'sinks', 'config', 'runtime'],
  cli: ['*'],
  server: ['*'],
};

const SRC = resolve(import.meta.dirname, '../src');

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (
      (entry.name.endsWith('.ts') || entry.name.endsWith('.mjs')) &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.contract.ts')
    ) {
      yield path;
    }
  }
}

describe('architecture', () => {
  it('keeps every import inside the rooms its room may use', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const room = relative(SRC, file).split('/')[0]!;
      if (room.endsWith('.ts')) continue; // src/index.ts, the public surface
      const allowed = ALLOWED[room];
      if (!allowed) {
        violations.push(`${relative(SRC, file)}: room "${room}" is not in ARCHITECTURE.md`);
        continue;
      }
      if (allowed.includes('*')) continue;
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
        const target = relative(SRC, resolve(dirname(file), match[1]!));
        const ok = allowed.some((a) => target === a || target.startsWith(`${a}/`));
        if (!ok) violations.push(`${relative(SRC, file)} imports ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
