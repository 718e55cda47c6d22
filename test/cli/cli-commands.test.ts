import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { makeProject, runCli } from './cli-harness.ts';

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

// Slow (about a minute): every case runs the real `syncline` binary, one process per command, as
// users do; a process starts in ~0.5 s from dist/ (npm test builds it first).

describe('syncline CLI', () => {
  let project: ReturnType<typeof makeProject> | null = null;
  let t: TestStore | null = null;
  afterEach(async () => {
    project?.cleanup();
    await t?.dispose();
    project = null;
    t = null;
  });

  it('syncs, then reports status, runs and failures as JSON, and writes nothing the second time', async () => {
    project = makeProject({ records: 300, delayMs: 0 });
    const { dir } = project;
    const first = await runCli(['sync', '--json'], dir);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)[0]).toMatchObject({
      stream: 'items',
      status: 'ok',
      counters: { inserted: 300 },
    });
    expect((await runCli(['reset', 'items', '--yes'], dir)).code).toBe(0);
    const second = await runCli(['sync', '--json'], dir);
    expect(JSON.parse(second.stdout)[0].counters).toMatchObject({
      fetched: 300,
      inserted: 0,
      updated: 0,
      unchanged: 300,
    });

    const status = JSON.parse((await runCli(['status', '--json'], dir)).stdout);
    expect(status).toEqual([
      expect.objectContaining({
        stream: 'items',
        status: 'ok',
        records: 300,
        checkpoint: { after: 300 },
        failedRecords: 0,
      }),
    ]);
    expect(status[0].lagSeconds).toBeGreaterThan(0);
    const runs = JSON.parse((await runCli(['runs', 'items', '--json'], dir)).stdout);
    expect(runs).toHaveLength(2);
    const table = await runCli(['status'], dir);
    expect(table.stdout).toMatch(/^STREAM\s+LAST RUN\s+STATUS\s+RECORDS\s+CHECKPOINT\s+LAG\s+FAILED/);
    expect((await runCli(['failed', '--json'], dir)).stdout.trim()).toBe('[]');
  }, 180_000);

  it('pauses a suspected backfill (exit 4), shows it in status, and applies it after approve', async () => {
    project = makeProject({ records: 100, delayMs: 0, streamOptions: "backfill: { maxAge: '30s' }," });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    expect((await runCli(['reset', 'items', '--yes'], dir)).code).toBe(0);
    // The source rewrites every record, keeping their old updated_at: a retroactive change.
    const paused = await runCli(['sync', '--json'], dir, { TEST_REV: '1' });
    expect(paused.code).toBe(4);
    expect(JSON.parse(paused.stdout)[0]).toMatchObject({
      status: 'paused_backfill',
      evidence: { kind: 'backfill' },
    });
    const status = await runCli(['status'], dir);
    expect(status.stdout).toMatch(/items\s+\d.* ago\s+PAUSED/);
    expect(status.stdout).toMatch(/PAUSED: items: .*syncline approve items/s);
    expect((await runCli(['approve', 'items'], dir)).code).toBe(0);
    const applied = await runCli(['sync', '--json'], dir, { TEST_REV: '1' });
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)[0].counters.updated).toBeGreaterThan(0);
    expect(JSON.parse((await runCli(['status', '--json'], dir)).stdout)[0].status).toBe('ok');
  }, 180_000);

  it('refreshes records by key from the CLI, and refuses a stream that cannot read by key', async () => {
    project = makeProject({ records: 50, delayMs: 0 });
    expect((await runCli(['sync'], project.dir)).code).toBe(0);
    const refused = await runCli(['refresh', 'items', '3'], project.dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(
      /^syncline: stream "items" cannot read records by key: add fetchById/,
    );
    project.cleanup();
    const byKey = `fetchByKey: async function* ({ request, checkpoint }) {
        const { keys } = request;
        const gone = (process.env.TEST_GONE ?? '').split(',');
        yield {
          records: keys.filter((k) => !gone.includes(k)).map((k) => record(Number(k))),
          tombstones: keys.filter((k) => gone.includes(k)).map((k) => ({ key: { id: Number(k) }, deletedAt: null })),
          checkpoint,
        };
      },`;
    project = makeProject({ records: 50, delayMs: 0, streamOptions: byKey });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const ok = await runCli(['refresh', 'items', '3', '40', '7', '--json'], dir, {
      TEST_REV: '1',
      TEST_GONE: '7',
    });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'ok', counters: { updated: 2, deleted: 1 } });
    const status = JSON.parse((await runCli(['status', '--json'], dir)).stdout)[0];
    expect(status.checkpoint).toEqual({ after: 50 });
    // A key neither the source nor the store has is named, and the exit status says so.
    const nowhere = await runCli(['refresh', 'items', '3', '999'], dir, { TEST_REV: '1', TEST_GONE: '999' });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stdout).toContain('1 unchanged, 1 found neither at the source nor in the store: 999');
  }, 180_000);

  it('backfills a range from the CLI, and refuses a range that ends before it starts', async () => {
    project = makeProject({ records: 50, delayMs: 0 });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const bad = await runCli(['backfill', 'items', '--from', '2026-02-01', '--to', '2026-01-01'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('syncline: --to (2026-01-01) must be after --from (2026-02-01)');
    const range = ['--from', '2025-12-01T00:00:00Z', '--to', '2026-02-01T00:00:00Z', '--window', '30d'];
    const ok = await runCli(['backfill', 'items', ...range, '--json'], dir, { TEST_REV: '1' });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ stream: 'items', status: 'ok', counters: { updated: 50 } });
    const status = JSON.parse((await runCli(['status', '--json'], dir)).stdout)[0];
    // The main checkpoint stayed where the sync left it.
    expect(status.checkpoint).toEqual({ after: 50 });
  }, 180_000);

  it('says a stream that is not paused has nothing to approve (exit 0), and refuses an unknown one (exit 2)', async () => {
    project = makeProject({ records: 10, delayMs: 0 });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const notPaused = await runCli(['approve', 'items'], dir);
    expect(notPaused.code).toBe(0);
    expect(notPaused.stdout.trim()).toBe('stream "items" is not paused; nothing to approve');
    const unknown = await runCli(['approve', 'nope'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('syncline: unknown stream "nope": the store has no state for it');
    expect((await runCli(['reset', 'items', '--yes'], dir)).code).toBe(0);
    expect(await actionsOf(dir)).toEqual([
      ['items', 'approve', 'cli', 'stream "items" is not paused; nothing to approve'],
      [
        'items',
        'reset',
        'cli',
        'reset "items": its next run starts from the beginning; records are kept and re-reads write only changes',
      ],
    ]);
  }, 60_000);

  it('refuses to reset without --yes when there is no terminal to ask on', async () => {
    project = makeProject({ records: 10, delayMs: 0 });
    await runCli(['sync'], project.dir);
    const result = await runCli(['reset', 'items'], project.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --yes/);
  }, 60_000);

  it('names the file, the stream and the field of a config error, with exit code 2 and no stack', async () => {
    project = makeProject();
    writeFileSync(
      join(project.dir, 'bad.config.ts'),
      `export default { streams: [{ name: 'ok_stream', key: 'id', source: async function* () {} }, { name: 'orders', key: [], source: async function* () {} }] };`,
    );
    const result = await runCli(['sync', '--config', 'bad.config.ts'], project.dir);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'syncline: bad.config.ts: stream "orders" (streams[1]): key: must list at least one field',
    );
  }, 60_000);

  it('reports an unreachable store in one line without the password, exit code 2', async () => {
    project = makeProject();
    const result = await runCli(
      ['status', '--store', 'postgres://admin:s3cret-pw@127.0.0.1:1/nope'],
      project.dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^syncline: .*127\.0\.0\.1:1/);
    expect(result.stderr).not.toContain('s3cret-pw');
    const scheme = await runCli(['status', '--store', 'mysql://x@y/z'], project.dir);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/unsupported store "mysql:\/\/\.\.\."/);
  }, 60_000);

  it('rejects an unknown stream name with the names the config defines', async () => {
    project = makeProject();
    const result = await runCli(['sync', 'nope'], project.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown stream "nope"; syncline.config.ts defines: items/);
  }, 60_000);

  it('syncs into PostgreSQL with --store', async () => {
    t = await makeTestStore('postgres');
    project = makeProject({ records: 120, delayMs: 0 });
    const result = await runCli(['sync', '--json', '--store', t.location], project.dir);
    expect(result.code).toBe(0);
    expect((await t.store.listStreams())[0]).toMatchObject({ stream: 'items', records: 120 });
  }, 60_000);

  it('never prints the store password, even in the demo hints', async () => {
    t = await makeTestStore('postgres');
    project = makeProject();
    // The test server trusts local connections, so any password is accepted and must never show.
    const url = new URL(t.location);
    url.password = 's3cret-pw';
    const withPassword = url.toString();
    const result = await runCli(['demo', '--records', '50', '--store', withPassword], project.dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/postgres:\/\/[^:]+:\*\*\*@/);
    expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
  }, 60_000);

  it('runs the demo into a fresh SQLite file, twice, writing nothing the second time', async () => {
    project = makeProject();
    const first = await runCli(['demo', '--records', '2000'], project.dir);
    expect(first.code).toBe(0);
    // STREAM STATUS FETCHED INSERTED UPDATED UNCHANGED FAILED API-CALLS RETRIES
    expect(first.stdout).toMatch(/customers\s+ok\s+2,000\s+2,000\s+0\s+0\s+0\s/);
    expect(first.stdout).toMatch(/orders\s+ok\s+1,000\s+1,000\s/);
    expect(first.stdout).toMatch(/candles\s+ok\s+1,000\s+1,000\s/);
    const second = await runCli(['demo', '--records', '2000'], project.dir);
    expect(second.code).toBe(0);
    for (const stream of ['customers', 'orders', 'candles']) {
      // Only the lookback window is read again, and nothing in it changed.
      expect(second.stdout).toMatch(new RegExp(`${stream}\\s+ok\\s+[\\d,]+\\s+0\\s+0\\s`));
    }
  }, 180_000);
});
