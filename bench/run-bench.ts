/**
 * `npm run bench [-- --size full|tiny|<records>] [--out <dir>] [--only <sections>]`: measures the
 * limits, the hand-written baseline and Syncline side by side in one run and writes
 * `<out>/RESULTS.md` and `<out>/results.png`. See bench/README.md. Progress goes to stderr.
 * Exits 0 whatever the targets say; 1 on an error, 2 on bad options.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BenchUsageError } from './bench-error.ts';
import { type BenchOptions, parseBenchArgs } from './bench-options.ts';
import { runCdcScenario } from './cdc-scenario.ts';
import { runChangelogScenario } from './changelog-scenario.ts';
import { REPO_ROOT, stopAllChildren } from './child-process.ts';
import { runClusterScenario } from './cluster-scenario.ts';
import { runDestinationsScenario } from './destinations-scenario.ts';
import { runEventsScenario } from './events-scenario.ts';
import { runFilesScenario } from './files-scenario.ts';
import { shortCount } from './format.ts';
import { benchPgUrl, Locations } from './locations.ts';
import { machineInfo } from './machine.ts';
import { renderBarChart } from './png-chart.ts';
import { runRaw } from './raw-runs.ts';
import { type BenchResults, chartBars, renderResults } from './report.ts';
import { runServiceScenario } from './service-scenario.ts';
import { runSyncScenario, type SyncScenario } from './sync-scenario.ts';
import { runWebhooksScenario } from './webhooks-scenario.ts';

const began = performance.now();

function log(line: string): void {
  const elapsed = ((performance.now() - began) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${elapsed}s] ${line}\n`);
}

async function runBench(options: BenchOptions, locations: Locations): Promise<BenchResults> {
  const { sizes, only } = options;
  const machine = await machineInfo(locations.pgUrl, new Date());
  log(`size ${options.sizeName}: ${sizes.records} records; sections: ${[...only].join(', ')}`);
  const raw = await runRaw(
    locations,
    {
      records: sizes.records,
      baselineRecords: sizes.baseline,
      limits: only.has('limits'),
      baseline: only.has('baseline'),
    },
    log,
  );
  const plan = [
    { section: 'sqlite', store: 'sqlite', records: sizes.records, incremental: true },
    { section: 'postgres', store: 'postgres', records: sizes.records, incremental: true },
    { section: 'medium', store: 'sqlite', records: sizes.medium, incremental: true },
    { section: 'medium', store: 'postgres', records: sizes.medium, incremental: true },
    { section: 'large', store: 'sqlite', records: sizes.large, incremental: false },
  ] as const;
  const scenarios: SyncScenario[] = [];
  for (const { section, ...spec } of plan) {
    if (only.has(section)) scenarios.push(await runSyncScenario(locations, spec, log));
  }
  return {
    machine,
    sizeName: options.sizeName,
    sizes,
    raw,
    scenarios,
    service: only.has('service') ? await runServiceScenario(locations, sizes, log) : null,
    events: only.has('events') ? await runEventsScenario(locations, sizes, log) : null,
    destinations: only.has('destinations') ? await runDestinationsScenario(locations, sizes, log) : null,
    webhooks: only.has('webhooks') ? await runWebhooksScenario(locations, sizes, log) : null,
    cdc: only.has('cdc') ? await runCdcScenario(locations, sizes, log) : null,
    files: only.has('files') ? await runFilesScenario(locations, sizes, log) : null,
    changelog: only.has('changelog') ? await runChangelogScenario(locations, sizes, log) : null,
    cluster: only.has('cluster') ? await runClusterScenario(locations, sizes, log) : null,
    totalMs: performance.now() - began,
    loadAtEnd: loadavg()[0]!,
  };
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  // The children run compiled (dist/bench, dist/src): built now from the sources as they are,
  // unless dist/ is already at least as new as every one of them (as after `npm test`'s build: a
  // rebuild would swap dist/ under the CLIs of tests running beside the bench's own test).
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--if-stale'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  const locations = new Locations(benchPgUrl());
  // A stopped bench leaves no process, schema or temp file behind: children first, so none
  // holds a lock on a schema being dropped.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void stopAllChildren()
        .then(() => locations.dropAll())
        .finally(() => process.exit(130));
    });
  }
  try {
    const results = await runBench(options, locations);
    mkdirSync(options.outDir, { recursive: true });
    writeFileSync(join(options.outDir, 'RESULTS.md'), renderResults(results));
    const title = `Records per second, ${shortCount(options.sizes.records)} customers (higher is better)`;
    writeFileSync(join(options.outDir, 'results.png'), renderBarChart(title, chartBars(results)));
    log(`wrote ${join(options.outDir, 'RESULTS.md')} and results.png`);
  } finally {
    await locations.dropAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
