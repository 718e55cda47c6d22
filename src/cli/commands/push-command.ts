import type { Command } from 'commander';
import { fullPass, pushPrepared, selectDestinations } from '../../runtime/push.ts';
import { prepareSinks } from '../../runtime/sinks.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount } from '../format-table.ts';
import { stopSignal } from '../stop-signal.ts';

export function registerPushCommand(program: Command): void {
  program
    .command('push [destinations...]')
    .description(
      'write what the syncs changed into the config’s destinations (all, or those named), once: each ' +
        'goes on from the last write its API confirmed, until it reaches the end of the change log',
    )
    .addHelpText(
      'after',
      '\nExit 0 when every destination caught up; 1 when one stopped (a refused token: 401/403) or dead-lettered ' +
        'records the API refused (`syncline failed` lists them); 130/143 on Ctrl-C / SIGTERM (the writes in ' +
        'flight are confirmed again by the next push: finds and idempotency keys keep them single).',
    )
    .option(
      '--full',
      'first compare every record of the destinations’ streams with what each last confirmed and write the ' +
        'differences (after a change of map, or a change log pruned past an offline destination)',
    )
    .action(async (names: string[], options: { full?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await push(ctx, names, options.full ?? false);
      } finally {
        await ctx.close();
      }
    });
}

async function push(ctx: CliContext, names: readonly string[], full: boolean): Promise<number> {
  const config = await ctx.config();
  const selected = selectDestinations(config, names);
  // Built first: a bad URL or a missing token is told before the store is opened.
  const prepared = await prepareSinks({ sinks: [], destinations: selected, log: ctx.log });
  const store = await ctx.store('write');
  const stop = stopSignal();
  const abort = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  void stop.first.then((signal) => {
    signalled = signal;
    abort.abort();
  });
  try {
    let refusedInFull = 0;
    if (full) {
      for (const destination of selected) {
        if (abort.signal.aborted) break;
        const pass = await fullPass(store, destination, { signal: abort.signal });
        refusedInFull += pass.refused;
        ctx.print(
          `destination "${pass.destination}": full pass: ${formatCount(pass.records)} record(s) compared, ` +
            `${formatCount(pass.written)} written, ${formatCount(pass.unchanged)} unchanged` +
            (pass.refused > 0 ? `, ${formatCount(pass.refused)} refused: \`syncline failed\`` : ''),
        );
      }
    }
    const outcomes = await pushPrepared(store, selected, prepared, abort.signal);
    for (const o of outcomes) {
      ctx.print(
        `destination "${o.destination}": ${o.caughtUp ? 'caught up' : 'stopped'} at seq ${formatCount(o.offset)} of ${formatCount(o.end)}` +
          (o.refused > 0 ? `; ${formatCount(o.refused)} record(s) refused: \`syncline failed\`` : ''),
      );
    }
    if (signalled !== null) return signalled === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
    return refusedInFull > 0 || outcomes.some((o) => o.refused > 0) ? EXIT.failed : EXIT.ok;
  } finally {
    stop.dispose();
  }
}
