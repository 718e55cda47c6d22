import type { Command } from 'commander';
import { recordAction } from '../../runtime/action-log.ts';
import { approveStream } from '../../runtime/stream-operations.ts';
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
        const outcome = await approveStream(store, stream);
        const message = outcome.paused
          ? `${outcome.message}; the next \`syncline ${outcome.paused.mode}\` applies it`
          : outcome.message;
        // Not paused exits 0: the stream is already in the state approving would put it in.
        ctx.print(message);
        await recordAction(store, { stream, action: 'approve', origin: 'cli', detail: message }, ctx.log);
      } finally {
        await ctx.close();
      }
    });
}
