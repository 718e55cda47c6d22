import { describe, expect, it } from 'vitest';
import { runCdcChaos } from './chaos-cdc.ts';

// Change data capture under SIGKILLs (npm run chaos -- --cdc): a private cluster with a seeded
// writer, killed syncs (the first two inside the initial snapshot), then every stream table equal
// to its table. On the PostgreSQL store here; `npm run chaos -- --cdc --store sqlite` runs the other.
describe('cdc chaos', () => {
  it('loses, doubles and leaves stale nothing when syncs of a replication slot are killed at random, inside the snapshot too', async () => {
    const report = await runCdcChaos({
      seed: 11,
      minutes: 0.25,
      minKills: 3,
      store: 'postgres',
      log: () => undefined,
    });
    expect(report.summary).toMatch(/0 missing, 0 stale, 0 zombie$/);
    expect(report.kills).toBeGreaterThanOrEqual(3);
    expect(report.restartedSnapshots).toBeGreaterThanOrEqual(1);
    expect(report.ok).toBe(true);
  }, 180_000);
});
