import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';
import { formatCount, formatDuration, formatTable } from '../format-table.ts';
import { parseLimit } from './parse-limit.ts';

export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('run history, newest first')
    .argument('[stream]', 'only this stream')
    .option('--limit <n>', 'how many runs', parseLimit, 20)
    .option('--json', 'print JSON on stdout')
    .action(
      async (stream: string | undefined, options: { limit: number; json?: boolean }, command: Command) => {
        const ctx = CliContext.of(command);
        try {
          const runs = await (await ctx.store('read')).listRuns({
            ...(stream ? { stream } : {}),
            limit: options.limit,
          });
          if (options.json) return ctx.printJson(runs);
          if (runs.length === 0) return ctx.print('no runs yet');
          ctx.print(
            formatTable(
              [
                'RUN',
                'STREAM',
                'MODE',
                'STATUS',
                'STARTED',
                'TOOK',
                'PAGES',
                'FETCHED',
                'INS',
                'UPD',
                'DEL',
                'SAME',
                'STALE',
                'FAILED',
                'ERROR',
              ],
              runs.map((r) => [
                r.runId,
                r.stream,
                r.mode,
                ctx.out.status(r.status),
                ctx.out.muted(r.startedAt.replace('T', ' ').slice(0, 19)),
                r.endedAt
                  ? formatDuration(Date.parse(r.endedAt) - Date.parse(r.startedAt))
                  : ctx.out.muted('-'),
                ...[
                  r.counters.pages,
                  r.counters.fetched,
                  r.counters.inserted,
                  r.counters.updated,
                  r.counters.deleted,
                  r.counters.unchanged,
                  r.counters.stale,
                  r.counters.failed,
                ].map(formatCount),
                r.error ? ctx.out.bad(r.error) : '',
              ]),
            ),
          );
        } finally {
          await ctx.close();
        }
      },
    );
}
