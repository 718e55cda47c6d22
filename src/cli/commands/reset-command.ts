import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { readEnvSecret } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { recordAction } from '../../runtime/action-log.ts';
import { requireStreamState, resetStream } from '../../runtime/stream-operations.ts';
import { CliContext } from '../cli-context.ts';

export function registerResetCommand(program: Command): void {
  program
    .command('reset')
    .description(
      "clear a stream's checkpoint: its next run reads the source from the beginning (records stay)",
    )
    .argument('<stream>', 'the stream')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (stream: string, options: { yes?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const store = await ctx.store();
        const state = await requireStreamState(store, stream);
        if (
          !options.yes &&
          !(await confirm(
            `Reset the checkpoint of "${stream}" (now ${JSON.stringify(state.checkpoint)})? [y/N] `,
          ))
        ) {
          // Answering no is a decision, not a failure: nothing was asked to happen that did not.
          ctx.print(`not reset; "${stream}" keeps its checkpoint`);
          return;
        }
        await resetStream(store, stream);
        const message = `reset "${stream}": its next run starts from the beginning; records are kept and re-reads write only changes`;
        ctx.print(message);
        await recordAction(store, { stream, action: 'reset', origin: 'cli', detail: message }, ctx.log);
        // A cdc stream starts again from a new snapshot: its slot goes (with the streams sharing it).
        const capture = ctx.runtime.hasConfig()
          ? (await ctx.config()).streams.find((s) => s.name === stream)?.capture
          : undefined;
        if (capture && (await capture.drop(readEnvSecret))) {
          ctx.print(
            `dropped cdc slot ${capture.slot}: the next sync reads the tables of its streams again in a new snapshot`,
          );
        }
      } finally {
        await ctx.close();
      }
    });
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new ConfigError('refusing to reset without confirmation: no terminal to ask on; pass --yes');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
