import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { makeTestStore, STORE_KINDS, type TestStore } from '../helpers/stores.ts';
import { collect, makeProject, runCli, spawnCli } from './cli-harness.ts';

// Slow (a minute from sources, less from dist/): real `syncline sync` and `syncline changes`
// processes on both stores, one of them killed with SIGKILL while it follows the change log.

/**
 * The JSON lines a `changes --json` run printed; a last line without its newline (the process was
 * killed while writing it) is not a line.
 */
function printed(stdout: string): FeedChange[] {
  return stdout
    .slice(0, stdout.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as FeedChange);
}

/** Resolves once the child's stdout holds a line for which `done` is true. */
function waitForLine(
  child: ChildProcess,
  done: (line: string) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out; stdout ended: ${seen.slice(-300)}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.split('\n').some(done)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
  });
}

describe.each(STORE_KINDS)('syncline changes on %s', (kind) => {
  let t: TestStore | null = null;
  let project: ReturnType<typeof makeProject> | null = null;
  afterEach(async () => {
    await t?.dispose();
    project?.cleanup();
  });

  async function setup(records: number, delayMs: number) {
    t = await makeTestStore(kind);
    await t.store.close(); // the CLI processes open their own
    project = makeProject({ records, pageSize: 50, delayMs });
    return { dir: project.dir, store: ['--store', t.location] };
  }

  /** The store's change log, and the offset of consumer `c` (0 when it is not registered). */
  async function stored(location: string) {
    const store = await openStore(location, { mode: 'read' });
    try {
      const all = await store.readChanges({ afterSeq: 0, limit: 100_000 });
      return { all, acked: (await store.consumerOffset('c'))?.seq ?? 0 };
    } finally {
      await store.close();
    }
  }

  it('prints changes as JSON lines with their data, after --since, of --stream, at most --limit', async () => {
    const { dir, store } = await setup(120, 0);
    const synced = await runCli(['sync', ...store], dir);
    expect(synced.code, synced.stderr).toBe(0);
    const { all } = await stored(t!.location);
    expect(all).toHaveLength(120);
    const full = await runCli(['changes', '--json', ...store], dir);
    expect(full.code).toBe(0);
    const changes = printed(full.stdout);
    expect(changes.map((c) => c.seq)).toEqual(all.map((c) => c.seq));
    expect(changes[0]).toEqual({
      id: `items:${all[0]!.seq}`,
      seq: all[0]!.seq,
      stream: 'items',
      key: '0',
      kind: 'insert',
      version: '1',
      hash: all[0]!.hash,
      run: all[0]!.runId,
      committedAt: all[0]!.at,
      data: { id: 0, name: 'item 0 rev 0', updated_at: '2026-01-01T00:00:00.000Z', version: 1 },
    });
    const some = await runCli(
      ['changes', '--json', '--since', String(all[9]!.seq), '--stream', 'items', '--limit', '5', ...store],
      dir,
    );
    expect(printed(some.stdout).map((c) => c.seq)).toEqual(all.slice(10, 15).map((c) => c.seq));
    const text = await runCli(['changes', '--limit', '1', ...store], dir);
    expect(text.stdout).toBe(`${all[0]!.seq}  ${all[0]!.at}  items  insert  0\n`);
    const unknown = await runCli(['changes', '--stream', 'itmes', ...store], dir);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('stream "itmes" is not in the store; its streams: items');
  });

  it('acknowledges nothing when its output went away before a batch was written', async () => {
    const { dir, store } = await setup(30, 0);
    const synced = await runCli(['sync', ...store], dir);
    expect(synced.code, synced.stderr).toBe(0);
    const child = spawnCli(['changes', '--consumer', 'c', '--json', ...store], dir);
    // The reader is gone before the command prints anything (it takes a while to start).
    child.stdout?.destroy();
    const done = await collect(child);
    expect(done.stderr).not.toMatch(/EPIPE|Unhandled/);
    const { all, acked } = await stored(t!.location);
    expect(all).toHaveLength(30);
    expect(acked).toBe(0);
  });

  it('resumes a consumer killed mid-stream right after its acknowledged seq, having delivered every change at least once', async () => {
    const { dir, store } = await setup(2000, 30);
    const consumer = ['changes', '--consumer', 'c', '--follow', '--json', '--poll', '20', ...store];
    // The consumer follows while a sync writes the changes, page after page.
    const first = spawnCli(consumer, dir);
    const firstDone = collect(first);
    const sync = collect(spawnCli(['sync', ...store], dir));
    await waitForLine(first, (l) => l.startsWith('{'));
    // Once it has acknowledged a first batch (it goes on reading and acknowledging meanwhile).
    while ((await stored(t!.location)).acked === 0) await sleep(20);
    first.kill('SIGKILL');
    const killed = await firstDone;
    expect(killed.signal).toBe('SIGKILL');
    const { acked } = await stored(t!.location);
    expect((await sync).code).toBe(0);
    const { all } = await stored(t!.location);
    expect(all).toHaveLength(2000);
    const last = all.at(-1)!.seq;
    // Killed mid-stream: it had acknowledged some changes, and the rest was still to come.
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThan(last);

    const second = spawnCli(consumer, dir);
    const secondDone = collect(second);
    await waitForLine(second, (l) => l.includes(`"seq":${last},`));
    second.kill('SIGTERM');
    const resumed = await secondDone;
    // Following ends cleanly on SIGTERM.
    expect(resumed.code).toBe(0);

    const before = printed(killed.stdout).map((c) => c.seq);
    const after = printed(resumed.stdout);
    // Everything acknowledged had been printed before the kill.
    expect(before).toEqual(all.filter((c) => c.seq <= before.at(-1)!).map((c) => c.seq));
    expect(before.at(-1)).toBeGreaterThanOrEqual(acked);
    // The restart starts right after the acknowledged seq: nothing before it comes twice...
    expect(after.map((c) => c.seq)).toEqual(all.filter((c) => c.seq > acked).map((c) => c.seq));
    // ...and every change was delivered at least once, with its data.
    expect(new Set([...before, ...after.map((c) => c.seq)])).toEqual(new Set(all.map((c) => c.seq)));
    expect(after.every((c) => (c.data as { id: number }).id === Number(c.key))).toBe(true);
    expect((await stored(t!.location)).acked).toBe(last);
  });
});
