import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';
import { formatTable } from '../format-table.ts';
import { parseLimit } from './parse-limit.ts';

export function registerFailedCommand(program: Command): void {
  program
    .command('failed')
    .description('dead-lettered records: what failed, why, and the raw payload (--json)')
    .argument('[stream]', 'only this stream')
    .option('--limit <n>', 'how many', '50')
    .option('--all', 'include replayed and ignored ones, not only open ones')
    .option('--json', 'print JSON (with payloads) on stdout')
    .action(
      async (
        stream: string | undefined,
        options: { limit: string; all?: boolean; json?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.of(command);
        try {
          const letters = await (await ctx.store('read')).listDeadLetters({
            ...(stream ? { stream } : {}),
            limit: parseLimit(options.limit),
            all: Boolean(options.all),
          });
          if (options.json) return ctx.printJson(letters);
          if (letters.length === 0) return ctx.print('no failed records');
          ctx.print(
            formatTable(
              ['ID', 'STREAM', 'KEY', 'STATUS', 'AT', 'REASON'],
              letters.map((d) => [
                String(d.id),
                d.stream,
                d.key ?? '-',
                d.status,
                d.createdAt.slice(0, 19),
                d.reason,
              ]),
            ),
          );
        } finally {
          await ctx.close();
        }
      },
    );
}
