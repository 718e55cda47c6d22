import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest files first, so the slowest do not start last on a fresh clone (vitest's own order is by
 * the last run's durations, which a clean CI checkout does not have, then by file size, which puts
 * the one-line chaos files at the end): the 4-5 minute chaos runs of each store, then the other
 * chaos files, the bench, the CLI tests (child processes), then the rest in vitest's order.
 */
const FIRST = ['test/chaos/chaos-postgres.test.ts', 'test/chaos/chaos-sqlite.test.ts'];
const GROUPS = ['test/chaos/', 'test/bench/', 'test/cli/'];

function rank(path: string): number {
  const first = FIRST.findIndex((f) => path.endsWith(f));
  if (first >= 0) return first;
  const group = GROUPS.findIndex((g) => path.includes(`/${g}`));
  return group >= 0 ? FIRST.length + group : FIRST.length + GROUPS.length;
}

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const position = new Map(base.map((file, i) => [file, i]));
    return [...base].sort(
      (a, b) => rank(a.moduleId) - rank(b.moduleId) || position.get(a)! - position.get(b)!,
    );
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: on a 2-core machine every file ran after
    // the other. Most of the slow files spend their time waiting (the CLI tests on child processes,
    // the chaos runs on their 60-second clock, PostgreSQL on the server), so three run side by side (four were slower: the CPU-bound parts contend).
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
  },
});
