import type { Command } from 'commander';
import { cursorTimeMs, parseDuration } from '../../core/cursor-time.ts';
import { ConfigError } from '../../core/errors.ts';
import { CliContext } from '../cli-context.ts';
import { formatCount } from '../format-table.ts';

export function registerBackfillCommand(program: Command): void {
  program
    .command('backfill')
    .description(
      're-read a time range of a stream in windows through the same idempotent path, with its own checkpoint: a killed ' +
        "backfill resumes where it stopped, and the stream's main checkpoint never moves backwards",
    )
    .argument('<stream>', 'the stream')
    .requiredOption('--from <time>', 'start of the range, inclusive (ISO-8601 or epoch)')
    .requiredOption('--to <time>', 'end of the range, exclusive (ISO-8601 or epoch)')
    .option('--window <duration>', 'read the range in slices of this size', '7d')
    .option('--json', 'print the outcome as JSON on stdout')
    .action(
      async (
        stream: string,
        options: { from: string; to: string; window: string; json?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.of(command);
        try {
          const from = time(options.from, '--from');
          const to = time(options.to, '--to');
          if (to <= from)
            throw new ConfigError(`--to (${options.to}) must be after --from (${options.from})`);
          const windowMs = parseDuration(options.window);
          if (windowMs <= 0) throw new ConfigError(`--window must be longer than 0, got "${options.window}"`);
          const outcome = await ctx.runOne(stream, {
            mode: 'backfill',
            range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
            windowMs,
          });
          if (!outcome) return;
          const c = outcome.counters;
          ctx.printOutcome(
            outcome,
            options.json,
            `backfill of "${stream}" ${outcome.status}: ${formatCount(c.fetched)} read, ${formatCount(c.inserted)} inserted, ` +
              `${formatCount(c.updated)} updated, ${formatCount(c.unchanged)} unchanged`,
          );
        } finally {
          await ctx.close();
        }
      },
    );
}

function time(text: string, flag: string): number {
  const ms = cursorTimeMs(text);
  if (ms === null)
    throw new ConfigError(
      `${flag} must be a time (ISO-8601 like 2024-01-01T00:00:00Z, or epoch), got "${text}"`,
    );
  return ms;
}
