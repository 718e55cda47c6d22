import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import type { FeedChange } from '../../src/core/feed-change.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { prepareSinks } from '../../src/runtime/sinks.ts';
import { sync } from '../../src/runtime/sync.ts';
import { freshLocation } from '../helpers/stores.ts';
import { testRecord, testStreamConfig } from '../helpers/test-sources.ts';
import { SECRET, startReceiver } from '../helpers/webhook-receiver.ts';
import { makeProject, runCli } from './cli-harness.ts';

const RECORDS = 6;

describe('syncline sinks replay', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('redelivers the events a webhook refused once it is fixed: a 503 stops it (exit 1), then all go, then nothing is left', async () => {
    const project = makeProject({ records: RECORDS, pageSize: 50, delayMs: 0 });
    cleanups.push(project.cleanup);
    const file = join(project.dir, 'syncline.config.ts');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(
        'export default defineConfig({\n',
        `export default defineConfig({
  sinks: [{ name: 'hooks', type: 'webhook', url: process.env.HOOK_URL ?? 'http://127.0.0.1:9/', secretEnv: 'HOOK_SECRET', allowPrivateTargets: true }],
`,
      ),
    );
    const { location, drop } = await freshLocation('sqlite');
    cleanups.push(drop);
    let answer = (e: FeedChange): number => (e.key === '2' || e.key === '4' ? 400 : 200);
    const receiver = await startReceiver((body) => answer(body as FeedChange));
    cleanups.push(receiver.close);
    const env = { HOOK_URL: receiver.url, HOOK_SECRET: SECRET };
    // Synced and delivered in this process (each spawn costs seconds): the runner dead-letters the two events the receiver refuses.
    process.env.HOOK_SECRET = SECRET;
    cleanups.push(() => {
      delete process.env.HOOK_SECRET;
    });
    const store = await openStore(location);
    const items = testStreamConfig(Array.from({ length: RECORDS }, (_, i) => testRecord(i)));
    await sync(items, { store: location });
    const config = resolveConfig({
      ...items,
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          secretEnv: 'HOOK_SECRET',
          allowPrivateTargets: true,
        },
      ],
    });
    const running = (await prepareSinks({ sinks: config.sinks, log: SILENT_LOGGER })).start(store);
    const end = Date.now() + 10_000;
    while (receiver.requests() < RECORDS && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    await running.stop();
    const letters = await store.listDeadLetters({ limit: 10 });
    await store.close();
    expect(letters.map((d) => d.key).sort()).toEqual(['2', '4']);

    expect(letters[0]!.reason).toMatch(/^sink hooks: 400 from 127\.0\.0\.1:\d+\/hook$/);
    const recordReplay = await runCli(
      ['--store', location, 'failed', 'replay', '--id', String(letters[0]!.id)],
      project.dir,
      env,
    );
    expect(recordReplay.code).toBe(2);
    expect(recordReplay.stderr).toContain(
      `syncline: dead letter ${letters[0]!.id} is an event a sink refused, not a record: redeliver with \`syncline sinks replay hooks --id <ids...>\``,
    );

    answer = () => 503;
    const down = await runCli(['--store', location, 'sinks', 'replay', 'hooks', '--all'], project.dir, env);
    expect(down.code).toBe(1);
    expect(down.stdout).toContain('sink "hooks": redelivered 0, refused again 0, left 2');
    expect(down.stderr).toMatch(
      /syncline: the replay stopped: sink "hooks": POST 127\.0\.0\.1:\d+\/hook: 503/,
    );
    expect(down.stdout + down.stderr).not.toContain(SECRET);

    answer = () => 200;
    const accepted = receiver.accepted.length;
    const fixed = await runCli(['--store', location, 'sinks', 'replay', 'hooks', '--all'], project.dir, env);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout.trim()).toBe('sink "hooks": redelivered 2, refused again 0, left 0');
    expect(receiver.accepted.slice(accepted).map((e) => (e as FeedChange).key)).toEqual(['2', '4']);
    expect(receiver.bad).toEqual([]);

    const again = await runCli(['--store', location, 'sinks', 'replay', 'hooks', '--all'], project.dir, env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe('sink "hooks" has no open dead letters to redeliver');
  });
});
