import type { Command } from 'commander';
import { resolveConfig } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { SyncEventBus } from '../../core/events.ts';
import { redactUrl } from '../../core/redact-url.ts';
import { openStore } from '../../runtime/open-store.ts';
import { runStreams } from '../../runtime/run-streams.ts';
import { CliContext } from '../cli-context.ts';
import { demoConfig } from '../demo-config.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount, formatTable } from '../format-table.ts';
import { reportProgress } from '../progress-reporter.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('sync the built-in example streams into syncline.db (or --store) and show the result')
    .option('--records <n>', 'customers to generate (orders: twice as many)', '5000')
    .action(async (options: { records: string }, command: Command) => {
      const ctx = CliContext.of(command);
      const records = Number(options.records);
      if (!Number.isInteger(records) || records <= 0) {
        throw new ConfigError(`--records must be a positive integer, got "${options.records}"`);
      }
      const config = resolveConfig(demoConfig(records), 'demo', ctx.options.store);
      const store = await openStore(config.store);
      const shown = redactUrl(config.store);
      const events = new SyncEventBus();
      const stopReporting = reportProgress(events, ctx.log, ctx.interactive);
      try {
        const outcomes = await runStreams({ config, store, events, log: ctx.log });
        stopReporting();
        ctx.print(
          formatTable(
            ['STREAM', 'STATUS', 'FETCHED', 'INSERTED', 'UPDATED', 'UNCHANGED', 'FAILED'],
            outcomes.map((o) => [
              o.stream,
              o.status,
              ...[
                o.counters.fetched,
                o.counters.inserted,
                o.counters.updated,
                o.counters.unchanged,
                o.counters.failed,
              ].map(formatCount),
            ]),
          ),
        );
        ctx.print(
          `\nsynced into ${shown}. Try:\n` +
            `  npx syncline status --store ${shown}\n` +
            `  npx syncline failed --store ${shown}\n` +
            `  sqlite3 ${shown} "select _key, _data->>'email' from customers limit 3"\n` +
            'Run the demo again: nothing changed at the source, so nothing is written.',
        );
        process.exitCode = outcomes.every((o) => o.status === 'ok') ? EXIT.ok : EXIT.failed;
      } finally {
        stopReporting();
        await store.close();
      }
    });
}
