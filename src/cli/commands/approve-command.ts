import type { Command } from 'commander';
import { nowIso } from '../../core/clock.ts';
import { ConfigError } from '../../core/errors.ts';
import { CliContext } from '../cli-context.ts';

export function registerApproveCommand(program: Command): void {
  program
    .command('approve')
    .description(
      'let the next runs of a paused stream past the backfill breaker (a suspected backfill, or a reconciliation ' +
        'that would delete many records), until one of them completes; a stream that is not paused is left as is',
    )
    .argument('<stream>', 'the stream')
    .action(async (stream: string, _options: object, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const store = await ctx.store();
        const state = await store.getState(stream);
        if (!state) throw new ConfigError(`unknown stream "${stream}": the store has no state for it`);
        // The breaker stops syncs and reconciliations; refreshes, replays and backfills in between
        // do not lift a pause.
        const runs = await store.listRuns({ stream, limit: 50 });
        const last = runs.find((r) => r.mode === 'sync' || r.mode === 'reconcile');
        if (last?.status !== 'paused_backfill') {
          // Exit 0: the stream is already in the state approving would put it in.
          ctx.print(`stream "${stream}" is not paused; nothing to approve`);
          return;
        }
        await store.setApproval(stream, true, nowIso());
        ctx.print(
          `approved "${stream}" (its last ${last.mode} paused: ${last.error}); the next ` +
            `\`syncline ${last.mode}\` applies it`,
        );
      } finally {
        await ctx.close();
      }
    });
}
