import type { Command } from 'commander';
import { readEnvSecret } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { captureSlots } from '../../runtime/cdc-status.ts';
import { CliContext } from '../cli-context.ts';

export function registerCdcCommand(program: Command): void {
  const cdc = program
    .command('cdc')
    .description("change data capture: the replication slots of the config's cdc streams");
  cdc
    .command('drop-slot')
    .description(
      'drop the replication slot of these cdc streams (all, without names) on the source database: it stops keeping WAL there; the next sync reads the tables again in a new snapshot',
    )
    .argument('[streams...]', 'cdc streams (their slots are dropped, with the other streams sharing them)')
    .action(async (names: string[], _options: unknown, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const config = await ctx.config();
        for (const name of names) {
          const stream = config.streams.find((s) => s.name === name);
          if (!stream) throw new ConfigError(`no stream "${name}" in the config`);
          if (!stream.capture) throw new ConfigError(`stream "${name}" is not a cdc stream: it has no slot`);
        }
        const slots = captureSlots(config.streams).filter(
          (slot) => names.length === 0 || slot.streams.some((s) => names.includes(s)),
        );
        if (slots.length === 0) throw new ConfigError('the config has no cdc streams (type: cdc)');
        for (const slot of slots) {
          const dropped = await slot.control.drop(readEnvSecret);
          ctx.print(
            dropped
              ? `dropped cdc slot ${slot.slot} (streams ${slot.streams.join(', ')}): the source keeps no WAL for it now; the next sync reads the tables again in a new snapshot`
              : `cdc slot ${slot.slot} (streams ${slot.streams.join(', ')}): there was no slot`,
          );
        }
      } finally {
        await ctx.close();
      }
    });
}
