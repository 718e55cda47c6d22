import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { SyncEventBus } from '../../core/events.ts';
import { redactUrl } from '../../core/redact-url.ts';
import { createRuntime } from '../../runtime/create-runtime.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount, formatTable } from '../format-table.ts';
import { reportProgress } from '../progress-reporter.ts';

/** The demo's config: declarative HTTP streams against the simulator. */
export const DEMO_CONFIG = resolve(packageRoot(import.meta.dirname), 'examples/demo/syncline.config.yaml');

/** The nearest folder above `dir` with a package.json: the same from src/ and from dist/src/. */
function packageRoot(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json'))) return at;
    if (dirname(at) === at) return dir;
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'start the API simulator (with a few faults) and sync it into syncline.db (or --store) through ' +
        'the declarative HTTP streams of examples/demo/syncline.config.yaml',
    )
    .option('--records <n>', 'customers in the simulated API (orders and candles: half as many)', '20000')
    .option('--seed <n>', 'the simulator seed: the same seed gives the same data', '42')
    .action(async (options: { records: string; seed: string }, command: Command) => {
      const ctx = CliContext.of(command);
      const records = positiveInt(options.records, '--records');
      const seed = positiveInt(options.seed, '--seed');
      // Loaded when used: every other command starts without the simulator's modules.
      const { startSimulator } = await import('../../simulator/index.ts');
      const sim = await startSimulator({
        seed,
        datasets: { customers: records, orders: Math.ceil(records / 2), candles: Math.ceil(records / 2) },
        // A little of what real APIs do: the sync retries through it.
        faults: { rateLimit: 0.01, serverError: 0.01, truncated: 0.01, retryAfterSeconds: 0 },
      });
      const runtime = createRuntime({
        config: { load: { file: DEMO_CONFIG, vars: { SYNCLINE_DEMO_API: sim.url } } },
        ...(ctx.options.store ? { store: ctx.options.store } : {}),
        log: ctx.log,
      });
      const events = new SyncEventBus();
      const stopReporting = reportProgress(events, ctx.progressOptions());
      try {
        const shown = redactUrl((await runtime.config()).store);
        const outcomes = await runtime.run({ events });
        stopReporting();
        ctx.print(
          formatTable(
            [
              'STREAM',
              'STATUS',
              'FETCHED',
              'INSERTED',
              'UPDATED',
              'UNCHANGED',
              'FAILED',
              'API CALLS',
              'RETRIES',
            ],
            outcomes.map((o) => [
              o.stream,
              ctx.out.status(o.status),
              ...[
                o.counters.fetched,
                o.counters.inserted,
                o.counters.updated,
                o.counters.unchanged,
                o.counters.failed,
                o.counters.apiCalls,
                o.counters.retries,
              ].map(formatCount),
            ]),
          ),
        );
        ctx.print(
          `\nsynced the simulated API into ${shown} (config: examples/demo/syncline.config.yaml). Try:\n` +
            `  npx syncline status --store ${shown}\n` +
            `  npx syncline runs --store ${shown}\n` +
            'Run the demo again: the simulator regenerates the same data, so nothing is written.',
        );
        for (const o of outcomes) if (o.error) ctx.log.error({ stream: o.stream }, o.error);
        process.exitCode = outcomes.every((o) => o.status === 'ok') ? EXIT.ok : EXIT.failed;
      } finally {
        stopReporting();
        await runtime.close();
        await sim.close();
      }
    });
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}
