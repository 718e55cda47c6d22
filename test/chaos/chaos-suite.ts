import { expect, it } from 'vitest';
import { runChaos } from './chaos-harness.ts';

/**
 * A 60-second chaos run of one store over every pagination style: kills, faults, a changing source
 * (version regressions included), then the store must equal the source; and the regression seeds
 * of that store. Regression seeds found by longer runs (`npm run chaos`) go in REGRESSIONS, with the
 * weight of version regressions they were found with (the weight changes every mutation a seed
 * draws). Each store's file (`chaos-<store>.test.ts`) calls it.
 */
const REGRESSIONS: {
  seed: number;
  store: 'sqlite' | 'postgres';
  seconds: number;
  regressWeight: number;
  why: string;
}[] = [
  {
    seed: 3,
    store: 'postgres',
    seconds: 30,
    regressWeight: 0,
    why: 'a run resuming a killed pass missed changes behind its position',
  },
];

export function describeChaos(store: 'sqlite' | 'postgres'): void {
  it(`loses, duplicates and keeps stale nothing on ${store} under kills, faults and a changing source`, async () => {
    const report = await runChaos({ seed: 7, durationMs: 60_000, store });
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.kills).toBeGreaterThan(3);
    // The source rolled records back, and the streams saw it.
    expect(report.versionRegressions).toBeGreaterThan(0);
    expect(report.regressionsAccepted).toBeGreaterThan(0);
    process.stdout.write(`${report.summary}\n`);
  }, 240_000);

  it(`loses, duplicates and keeps stale nothing on ${store} when the service (syncline run) is killed and stopped`, async () => {
    const report = await runChaos({ seed: 11, durationMs: 30_000, store, process: 'run' });
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.kills).toBeGreaterThan(2);
    process.stdout.write(`${report.summary}\n`);
  }, 240_000);

  it.each(REGRESSIONS.filter((r) => r.store === store))(
    'seed $seed on $store stays fixed ($why)',
    async ({ seed, seconds, regressWeight }) => {
      const report = await runChaos({ seed, durationMs: seconds * 1000, store, regressWeight });
      expect(report.differences).toEqual([]);
      expect(report.ok).toBe(true);
    },
    240_000,
  );
}
