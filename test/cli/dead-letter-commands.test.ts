import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { INDEX, runCli } from './cli-harness.ts';

/** The operator's actions the CLI recorded in the project's store, oldest first. */
async function actionsOf(dir: string): Promise<Array<[string | null, string, string, string]>> {
  const store = await openStore(join(dir, 'syncline.db'), { mode: 'read' });
  try {
    const actions = await store.listActions({ limit: 100 });
    return actions.reverse().map((a) => [a.stream, a.action, a.origin, a.detail]);
  } finally {
    await store.close();
  }
}

// Slow (about a minute): a dozen real `syncline` processes per case, the way an operator works
// through dead letters.

/**
 * A project with one incremental stream, `people`: 30 records, every tenth with an email the
 * strict schema refuses. `TEST_KEY` names the key field (default `id`); `LOOSE=1` relaxes the
 * schema, as a user fixing their config would.
 */
function makePeopleProject(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-failed-'));
  writeFileSync(
    join(dir, 'syncline.config.ts'),
    `import { defineConfig, defineStream } from ${JSON.stringify(INDEX)};
import { z } from ${JSON.stringify(import.meta.resolve('zod'))};
const loose = process.env.LOOSE === '1';
const people = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  email: (i + 1) % 10 === 0 ? 'not-an-email' : 'p' + (i + 1) + '@example.com',
  updated_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
}));
export default defineConfig({
  streams: [
    defineStream({
      name: 'people',
      key: process.env.TEST_KEY ?? 'id',
      cursor: 'updated_at',
      schema: z.object({ id: z.number(), email: loose ? z.string() : z.email(), updated_at: z.string() }),
      async *source({ checkpoint }) {
        const since = (checkpoint as { since?: string } | null)?.since ?? '';
        const rows = people.filter((p) => p.updated_at > since);
        for (let i = 0; i < rows.length; i += 10) {
          const page = rows.slice(i, i + 10);
          yield { records: page, checkpoint: { since: page.at(-1)!.updated_at } };
        }
      },
    } as never),
  ],
});
`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Letter {
  readonly id: number;
  readonly key: string | null;
  readonly status: string;
  readonly occurrences: number;
}

describe('dead letters from the CLI', () => {
  let project: ReturnType<typeof makePeopleProject> | null = null;
  afterEach(() => {
    project?.cleanup();
    project = null;
  });

  it('fails a run whose pages all miss the key (exit 1, checkpoint kept), then lists, replays and ignores letters', async () => {
    project = makePeopleProject();
    const { dir } = project;
    const wrongKey = await runCli(['sync'], dir, { TEST_KEY: 'uid' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain(
      'every record of a page (10) failed, 9 of them the same way: key field \\"uid\\" is missing',
    );
    const before = JSON.parse((await runCli(['status', '--json'], dir)).stdout)[0];
    expect(before).toMatchObject({ status: 'failed', checkpoint: null, records: 0, failedRecords: 0 });

    const sync = await runCli(['sync', 'people', 'people', '--json'], dir);
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject([
      { stream: 'people', counters: { inserted: 27, failed: 3 } },
    ]);
    expect(sync.stderr).toContain('3 records were dead-lettered: see `syncline failed people`');

    const letters = (): Promise<Letter[]> =>
      runCli(['failed', '--all', '--json'], dir).then((r) => JSON.parse(r.stdout) as Letter[]);
    expect((await letters()).map((d) => [d.key, d.status, d.occurrences])).toEqual([
      ['30', 'open', 1],
      ['20', 'open', 1],
      ['10', 'open', 1],
    ]);
    const table = await runCli(['failed'], dir);
    expect(table.stdout).toMatch(/^ID\s+STREAM\s+KEY\s+STATUS\s+SEEN\s+LAST SEEN\s+REASON/);

    // Replayed with the same config, they fail again: exit 1, one more occurrence each.
    const again = await runCli(['failed', 'replay'], dir);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('replay of "people" ok: 3 letters, 0 applied');
    expect((await letters()).map((d) => d.occurrences)).toEqual([2, 2, 2]);

    // The config fixed: one letter by id, then ignore the rest.
    const ten = (await letters()).find((d) => d.key === '10')!;
    const one = await runCli(['failed', 'replay', '--id', String(ten.id)], dir, { LOOSE: '1' });
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('replay of "people" ok: 1 letter, 1 applied (1 inserted');
    const unknown = await runCli(['failed', 'replay', '--id', '9999'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('syncline: no open dead letter with id 9999; see `syncline failed`');
    const noTarget = await runCli(['failed', 'ignore'], dir);
    expect(noTarget.code).toBe(2);
    const ignored = await runCli(['failed', 'ignore', 'people'], dir);
    expect(ignored.stdout.trim()).toBe('ignored 2 open dead letters');
    expect((await letters()).map((d) => [d.key, d.status])).toEqual([
      ['30', 'ignored'],
      ['20', 'ignored'],
      ['10', 'replayed'],
    ]);
    expect((await runCli(['failed', '--json'], dir)).stdout.trim()).toBe('[]');
    const status = JSON.parse((await runCli(['status', '--json'], dir)).stdout)[0];
    expect(status).toMatchObject({ records: 28, failedRecords: 0 });
    const runs = JSON.parse((await runCli(['runs', '--json'], dir)).stdout) as { mode: string }[];
    expect(runs.map((r) => r.mode)).toEqual(['replay', 'replay', 'sync', 'sync']);
    // Each replay and the ignore are in the action log (the refused ones are not).
    expect(await actionsOf(dir)).toEqual([
      ['people', 'replay', 'cli', 'replay ok: 3 fetched, 3 failed again'],
      ['people', 'replay', 'cli', `replay of letters ${ten.id} ok: 1 fetched, 0 failed again`],
      ['people', 'ignore', 'cli', 'ignored 2 open dead letters'],
    ]);
  }, 180_000);

  it('says what is wrong with a --limit or an --id that is not a positive integer (exit 2)', async () => {
    project = makePeopleProject();
    for (const args of [
      ['runs', '--limit', 'abc'],
      ['failed', '--limit', '0'],
      ['failed', 'replay', '--id', 'x'],
    ]) {
      const result = await runCli(args, project.dir);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--(limit must be a positive integer|id takes dead-letter ids)/);
    }
  }, 180_000);
});
