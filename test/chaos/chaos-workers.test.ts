import { expect, it } from 'vitest';
import { runChaos } from './chaos-harness.ts';
import { WORKER_STREAMS } from './chaos-workers.ts';

/**
 * The cluster under kills: 3 `syncline run` workers at once on one PostgreSQL store, 50 streams
 * scheduled every second, 25 s of seeded SIGKILLs and SIGTERMs (each worker replaced at once); then
 * every stream equal to the source, no two writers on one stream, one job per stream in the queue,
 * every worker ran runs and none left registered (`npm run chaos -- --workers 3` runs it longer).
 */
it('loses, duplicates and keeps stale nothing when 3 workers of one PostgreSQL store are killed and stopped, and never runs one stream twice at once', async () => {
  const report = await runChaos({ seed: 5, durationMs: 25_000, store: 'postgres', workers: 3 });
  process.stdout.write(`${report.summary}\n`);
  expect(report.problems).toEqual([]);
  expect(report.differences).toEqual([]);
  expect(report.ok).toBe(true);
  const workers = report.workers!;
  expect(workers.streams).toBe(WORKER_STREAMS);
  expect(workers.run.kills).toBeGreaterThanOrEqual(1);
  expect(workers.run.terms).toBeGreaterThanOrEqual(1);
  expect(workers.overlaps).toEqual([]);
  expect(workers.run.duplicateKeys).toEqual([]);
  expect(workers.run.twoChains).toEqual([]);
  expect(workers.run.samples).toBeGreaterThan(50);
  expect(workers.run.leftRegistered).toEqual([]);
  expect(workers.run.workers.filter((w) => w.runs === 0)).toEqual([]);
  expect(workers.run.processes).toBe(3 + workers.run.kills + workers.run.terms);
}, 300_000);
