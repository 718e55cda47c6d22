import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { freshLocation, STORE_KINDS } from '../helpers/stores.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';
import { collect, makeProject, runCli, spawnCli } from './cli-harness.ts';

const RECORDS = 150;

/** A project whose config has the `items` stream and a webhook sink posting to `HOOK_URL`. */
function projectWithSink(): { dir: string; cleanup(): void } {
  const project = makeProject({ records: RECORDS, pageSize: 50, delayMs: 0 });
  const file = join(project.dir, 'syncline.config.ts');
  const text = readFileSync(file, 'utf8').replace(
    'export default defineConfig({\n',
    `export default defineConfig({
  sinks: [{ name: 'hooks', type: 'webhook', url: process.env.HOOK_URL ?? 'http://127.0.0.1:9/', secretEnv: 'HOOK_SECRET', allowPrivateTargets: true }],
`,
  );
  writeFileSync(file, text);
  return project;
}

const until = async (cond: () => boolean, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.each(STORE_KINDS)('syncline sinks on %s', (kind) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers every change to a webhook; after a SIGKILL mid-delivery a restart delivers the rest', async () => {
    const project = projectWithSink();
    cleanups.push(project.cleanup);
    const { location, drop } = await freshLocation(kind);
    cleanups.push(drop);
    const receiver = await startReceiver(() => 200, 5);
    cleanups.push(receiver.close);
    const env = { HOOK_URL: receiver.url, HOOK_SECRET: SECRET };

    const synced = await runCli(['--store', location, 'sync'], project.dir, env);
    expect(synced.code, synced.stderr).toBe(0);

    const first = spawnCli(['--store', location, 'sinks', 'run'], project.dir, env);
    const firstDone = collect(first);
    await until(() => receiver.accepted.length >= 40);
    first.kill('SIGKILL');
    expect((await firstDone).signal).toBe('SIGKILL');
    expect(receiver.accepted.length).toBeLessThan(RECORDS);

    const second = spawnCli(['--store', location, 'sinks', 'run'], project.dir, env);
    const secondDone = collect(second);
    await until(() => new Set(receiver.accepted.map((e) => (e as FeedChange).id)).size === RECORDS);
    second.kill('SIGTERM');
    const ended = await secondDone;
    expect(ended.code, ended.stderr).toBe(0);

    const events = receiver.accepted as FeedChange[];
    expect(receiver.bad).toEqual([]);
    // At least once, and deduped on id exactly the log: seqs 1..RECORDS, each key's data.
    const byId = new Map(events.map((e) => [e.id, e]));
    expect([...byId.keys()].sort()).toEqual(
      Array.from({ length: RECORDS }, (_, i) => `items:${i + 1}`).sort(),
    );
    expect(byId.get('items:1')!.data).toMatchObject({ id: 0 });
    // Each process delivered in seq order: the seqs only go down where the restart repeated some.
    const drops = events.filter((e, i) => i > 0 && e.seq <= events[i - 1]!.seq);
    expect(drops.length).toBeLessThanOrEqual(1);

    const status = await runCli(['--store', location, 'sinks', 'status'], project.dir, env);
    expect(status.code, status.stderr).toBe(0);
    // The last confirmed event may not be acknowledged yet when SIGTERM came: it is delivered again.
    const [, offset, lag] = /hooks\s+webhook\s+(\d+)\s+(\d+)\s/.exec(status.stdout) ?? [];
    expect(Number(offset) + Number(lag), status.stdout).toBe(RECORDS);
    expect(Number(offset)).toBeGreaterThanOrEqual(RECORDS - 1);
  }, 120_000);
});

describe('syncline sinks errors', () => {
  it('names the unset secret variable, and an unknown sink', async () => {
    const project = projectWithSink();
    try {
      const unset = await runCli(['--store', join(project.dir, 'x.db'), 'sinks', 'run'], project.dir, {
        HOOK_SECRET: '',
      });
      expect(unset.code).not.toBe(0);
      expect(unset.stderr).toContain('sink "hooks": environment variable HOOK_SECRET (secretEnv) is not set');
      const unknown = await runCli(
        ['--store', join(project.dir, 'x.db'), 'sinks', 'run', 'nope'],
        project.dir,
      );
      expect(unknown.stderr).toContain('unknown sink "nope"; the config\'s sinks are hooks');
      // `sinks resume` asks the running service; with none at the address, exit 2 and what to do.
      const resume = await runCli(['sinks', 'resume', 'hooks', '--url', 'http://127.0.0.1:1'], project.dir, {
        SYNCLINE_LOG_FORMAT: 'pretty',
      });
      expect(resume.code).toBe(2);
      expect(resume.stderr.trim()).toBe(
        'syncline: no syncline run answers at http://127.0.0.1:1: start it, or pass --url <its API>',
      );
    } finally {
      project.cleanup();
    }
  }, 60_000);
});
