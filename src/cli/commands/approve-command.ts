import type { Command } from 'commander';
import { nowIso } from '../../core/clock.ts';
import { ConfigError } from '../../core/errors.ts';
import { CliContext } from '../cli-context.ts';

export function registerApproveCommand(program: Command): void {
  program
    .command('approve')
    .description(
      'let the next runs of a stream past the backfill breaker (a suspected backfill, or a reconciliation that ' +
        'would delete many records), until one of them completes',
    )
    .argument('<stream>', 'the stream')
    .action(async (stream: string, _options: object, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const store = await ctx.store();
        const state = await store.getState(stream);
        if (!state) throw new ConfigError(`unknown stream "${stream}": the store has no state for it`);
        await store.setApproval(stream, true, nowIso());
        const [last] = await store.listRuns({ stream, limit: 1 });
        const paused = last?.status === 'paused_backfill' ? ` (its last run paused: ${last.error})` : '';
        ctx.print(
          `approved "${stream}"${paused}; the next \`syncline sync\` (or \`syncline reconcile\`) applies it`,
        );
      } finally {
        await ctx.close();
      }
    });
}
