import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEX, runCli } from './cli-harness.ts';

/**
 * A project whose `syncline.config.ts` imports Syncline by a path rather than by its package name
 * (which the CLI resolves to its own module: config-imports-syncline.test.ts): the config is loaded
 * through tsx, so it gets its own copy of the package, and the errors its sources throw are
 * instances of that copy's classes, not the engine's.
 */
function makeErrorProject(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-errors-'));
  writeFileSync(
    join(dir, 'syncline.config.ts'),
    `import { defineConfig, defineStream, FatalError, RecordError, TransientError } from ${JSON.stringify(INDEX)};
const page = (ids: number[]) => ({ records: ids.map((id) => ({ id, name: 'n' + id })), checkpoint: { after: ids.at(-1) ?? 0 } });
let thrown = false;
let attempted = 0;
export default defineConfig({
  sync: { retry: { baseDelayMs: 10, minDelayMs: 0 } },
  streams: [
    // The README's custom source: a plain fetch loop whose transient failure ends the generator.
    defineStream({
      name: 'flaky',
      key: 'id',
      async *source({ checkpoint }) {
        const after = (checkpoint as { after?: number } | null)?.after ?? 0;
        if (after < 2) yield page([1, 2]);
        if (!thrown) { thrown = true; throw new TransientError('connection reset by the API'); }
        if (after < 4) yield page([3, 4]);
      },
    }),
    // A request run through attempt(): retried in place.
    defineStream({
      name: 'attempted',
      key: 'id',
      async *source({ attempt }) {
        const ids = await attempt(async () => {
          attempted++;
          if (attempted === 1) throw new TransientError('503 from the API');
          return [1, 2, 3];
        }, { what: 'GET /things' });
        yield page(ids);
      },
    }),
    // A schema that throws RecordError for one record: that record is dead-lettered, the run goes on.
    defineStream({
      name: 'picky',
      key: 'id',
      schema: { '~standard': { version: 1, vendor: 'test', validate(value: unknown) {
        if ((value as { id: number }).id === 2) throw new RecordError('id 2 is not for us');
        return { value };
      } } } as never,
      async *source() { yield page([1, 2, 3]); },
    }),
    defineStream({
      name: 'doomed',
      key: 'id',
      async *source() { throw new FatalError('the account was closed'); },
    }),
  ],
});
`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Outcome {
  readonly stream: string;
  readonly status: string;
  readonly error: string | null;
  readonly counters: { inserted: number; failed: number; retries: number };
}

describe('errors thrown by a custom source loaded from syncline.config.ts', () => {
  const project = makeErrorProject();
  afterAll(() => project.cleanup());

  it('are told apart although the config has its own copy of the package', async () => {
    const result = await runCli(['sync', '--json'], project.dir);
    const outcomes = JSON.parse(result.stdout) as Outcome[];
    const by = Object.fromEntries(outcomes.map((o) => [o.stream, o]));
    // TransientError thrown by the generator: resumed after the last page handed over, ends ok.
    expect(by.flaky).toMatchObject({ status: 'ok', counters: { inserted: 4, retries: 1 } });
    // TransientError thrown inside attempt(): retried in place.
    expect(by.attempted).toMatchObject({ status: 'ok', counters: { inserted: 3, retries: 1 } });
    // RecordError: that record is dead-lettered, the others are applied.
    expect(by.picky).toMatchObject({ status: 'ok', counters: { inserted: 2, failed: 1 } });
    // FatalError: the run stops at once, without retrying.
    expect(by.doomed).toMatchObject({ status: 'failed', counters: { retries: 0 } });
    expect(by.doomed?.error).toContain('the account was closed');
    expect(result.code).toBe(1);
    const failed = await runCli(['failed', '--json'], project.dir);
    const letters = JSON.parse(failed.stdout) as { stream: string; key: string; reason: string }[];
    expect(letters).toMatchObject([{ stream: 'picky', key: '2', reason: 'id 2 is not for us' }]);
  }, 180_000);
});
