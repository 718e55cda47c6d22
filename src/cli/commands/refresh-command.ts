import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount } from '../format-table.ts';

export function registerRefreshCommand(program: Command): void {
  program
    .command('refresh')
    .description(
      'read records again by key (HTTP streams with fetchById): each one found is applied like any other, ' +
        'each the source answers 404/410 for is soft-deleted, keeping its last data; the checkpoint stays where it is',
    )
    .argument('<stream>', 'the stream')
    .argument('<key...>', "the records' keys, as stored in _key")
    .option('--json', 'print the outcome as JSON on stdout')
    .action(async (stream: string, keys: string[], options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const config = await ctx.config();
        const definition = config.streams.find((s) => s.name === stream);
        if (definition && !definition.fetchByKey) {
          throw new ConfigError(
            `stream "${stream}" cannot read records by key: add fetchById (e.g. { path: /v1/${stream}/{id} }) to its config`,
          );
        }
        const outcome = await ctx.runOne(stream, { mode: 'refresh', keys });
        if (!outcome) return;
        const c = outcome.counters;
        const notFound = (outcome.evidence as { notFound?: string[] } | null)?.notFound ?? [];
        ctx.printOutcome(
          outcome,
          options.json,
          `refresh of "${stream}" ${outcome.status}: ${formatCount(keys.length)} keys, ${formatCount(c.inserted)} inserted, ` +
            `${formatCount(c.updated)} updated, ${formatCount(c.deleted)} deleted, ` +
            `${formatCount(c.unchanged - notFound.length)} unchanged` +
            (notFound.length > 0
              ? `, ${formatCount(notFound.length)} found neither at the source nor in the store: ${notFound.join(', ')}`
              : ''),
        );
        // A key found nowhere is almost always a mistyped one: say so in the exit status too.
        if (outcome.status === 'ok' && notFound.length > 0) process.exitCode = EXIT.failed;
      } finally {
        await ctx.close();
      }
    });
}
