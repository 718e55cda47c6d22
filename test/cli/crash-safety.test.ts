import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { collect, makeProject, runCli, seeded, spawnCli, waitForOutput } from './cli-harness.ts';

// Slow (one to two minutes): each case SIGKILLs real `syncline sync` processes at seeded moments on
// both stores and checks the store against the source after every restart.

const RECORDS = 2000;

describe.each(STORE_KINDS)('crash safety through the CLI on %s', (kind) => {
  let t: TestStore | null = null;
  let project: ReturnType<typeof makeProject> | null = null;
  afterEach(async () => {
    await t?.dispose();
    project?.cleanup();
  });

  async function setup() {
    t = await makeTestStore(kind);
    await t.store.close(); // the CLI processes open their own
    project = makeProject({ records: RECORDS });
    return { dir: project.dir, store: ['--store', t.location] };
  }

  /** Checks the store holds exactly the source's records, and checkpoints of runs since `since` never regress. */
  async function verifyExactly(location: string, rev: number, since = '') {
    const store = await openStore(location);
    try {
      const rows = await store.scanRecords('items', { limit: RECORDS * 2 });
      expect(rows.length).toBe(RECORDS);
      const keys = new Set(rows.map((r) => r.key));
      expect(keys.size).toBe(RECORDS);
      for (let i = 0; i < RECORDS; i++) expect(keys.has(String(i))).toBe(true);
      expect(rows.every((r) => (r.data as { name: string }).name.endsWith(` rev ${rev}`))).toBe(true);
      const runs = (await store.listRuns({ stream: 'items', limit: 1000 }))
        .reverse()
        .filter((r) => r.startedAt > since);
      const position = (c: unknown) => (c as { after?: number } | null)?.after ?? 0;
      let last = 0;
      for (const run of runs) {
        // A checkpoint never moves backwards: each run starts where the last commit left it.
        expect(position(run.checkpointBefore)).toBeGreaterThanOrEqual(last);
        expect(position(run.checkpointAfter)).toBeGreaterThanOrEqual(position(run.checkpointBefore));
        last = position(run.checkpointAfter);
      }
      return runs;
    } finally {
      await store.close();
    }
  }

  it('ends with exactly the source records after SIGKILLs at random moments', async () => {
    const { dir, store } = await setup();
    const random = seeded(kind === 'sqlite' ? 11 : 12);
    for (let i = 0; i < 6; i++) {
      const child = spawnCli(['sync', ...store], dir);
      const done = collect(child);
      await waitForOutput(child, 'run started');
      await sleep(Math.floor(random() * 500));
      child.kill('SIGKILL');
      const result = await done;
      expect(result.signal === 'SIGKILL' || result.code === 0).toBe(true);
    }
    const final = await runCli(['sync', ...store], dir);
    expect(final.stderr).not.toMatch(/being synced by/);
    expect(final.code).toBe(0);
    const runs = await verifyExactly(t!.location, 0);
    expect(
      runs.filter((r) => r.status === 'failed' && /killed or crashed/.test(r.error ?? '')).length,
    ).toBeGreaterThan(0);
    // The source changes everywhere: a full re-read after a reset applies every change exactly once.
    const resetAt = new Date().toISOString();
    const reset = await runCli(['reset', 'items', '--yes', ...store], dir);
    expect(reset.code).toBe(0);
    const killed = spawnCli(['sync', ...store], dir, { TEST_REV: '1' });
    const killedDone = collect(killed);
    await waitForOutput(killed, 'run started');
    await sleep(300);
    killed.kill('SIGKILL');
    await killedDone;
    expect((await runCli(['sync', ...store], dir, { TEST_REV: '1' })).code).toBe(0);
    await verifyExactly(t!.location, 1, resetAt);
  }, 120_000);

  it('finishes the page in progress on SIGTERM and SIGINT, records interrupted, exits 143 / 130', async () => {
    const { dir, store } = await setup();
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const child = spawnCli(['sync', ...store], dir);
      const done = collect(child);
      await waitForOutput(child, 'run started');
      await sleep(200);
      child.kill(signal);
      const result = await done;
      expect(result.code).toBe(code);
      const s = await openStore(t!.location);
      const [run] = await s.listRuns({ limit: 1 });
      const state = await s.getState('items');
      const rows = await s.scanRecords('items', { limit: RECORDS });
      await s.close();
      expect(run?.status).toBe('interrupted');
      expect(run?.checkpointAfter).toEqual(state?.checkpoint);
      // Rows match the checkpoint: every record before it, none after.
      expect(rows.length).toBe((state!.checkpoint as { after: number }).after);
    }
    expect((await runCli(['sync', ...store], dir)).code).toBe(0);
    await verifyExactly(t!.location, 0);
  }, 180_000);

  it('lets only one process write a stream: the second exits 3, or waits with --wait', async () => {
    const { dir, store } = await setup();
    const first = spawnCli(['sync', ...store], dir, { TEST_DELAY_MS: '250' });
    const firstDone = collect(first);
    await waitForOutput(first, 'run started');
    const second = await runCli(['sync', ...store], dir);
    expect(second.code).toBe(3);
    const logged = second.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(logged.find((l) => l.level >= 50)?.msg).toMatch(
      /^stream "items" is being synced by .+ \(lease expires .+\); wait for it to finish or run again with --wait$/,
    );
    const waiting = await runCli(['sync', '--wait', '60', ...store], dir);
    expect((await firstDone).code).toBe(0);
    expect(waiting.code).toBe(0);
    await verifyExactly(t!.location, 0);
  }, 180_000);
});
