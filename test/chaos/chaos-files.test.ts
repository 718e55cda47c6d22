import { describe, expect, it } from 'vitest';
import { runFileChaos } from './chaos-files.ts';

// One short seeded run of the file streams' chaos (chaos-files.ts) on SQLite; longer runs and
// PostgreSQL: `npm run chaos -- --files --store postgres --minutes 1.5`.
describe('file streams under chaos', () => {
  it('ends with every stream equal to its files after SIGKILLed syncs and files changing under them', async () => {
    const report = await runFileChaos({ seed: 5, durationMs: 15_000, store: 'sqlite', rows: 9000 });
    process.stderr.write(`${report.summary}\n`);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary).toMatch(/\(([1-9]\d*) killed\)/);
  }, 60_000);
});
