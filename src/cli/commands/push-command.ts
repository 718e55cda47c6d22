import type { Command } from 'commander';
import type { ResolvedConfig, ResolvedDestination } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { prepareSinks } from '../../runtime/sinks.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount } from '../format-table.ts';
import { stopSignal } from '../stop-signal.ts';

/** How often `push` looks whether every destination caught up. */
const CHECK_MS = 100;

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
    .action(async (names: string[], _options: unknown, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await push(ctx, names);
      } finally {
        await ctx.close();
      }
    });
}

/** The config's destinations named in `names` (all of them when empty); an unknown name is a ConfigError. */
export function selectDestinations(config: ResolvedConfig, names: readonly string[]): ResolvedDestination[] {
  if (config.destinations.length === 0) {
    throw new ConfigError(
      `${config.file}: defines no destinations; add a destinations: list (see README "Destinations")`,
    );
  }
  for (const name of names) {
    if (!config.destinations.some((d) => d.name === name)) {
      throw new ConfigError(
        `unknown destination "${name}"; the config's destinations are ${config.destinations.map((d) => d.name).join(', ')}`,
      );
    }
  }
  return config.destinations.filter((d) => names.length === 0 || names.includes(d.name));
}

async function push(ctx: CliContext, names: readonly string[]): Promise<number> {
  const config = await ctx.config();
  const selected = selectDestinations(config, names);
  // Built first: a bad URL or a missing token is told before the store is opened.
  const prepared = await prepareSinks({ sinks: [], destinations: selected, log: ctx.log });
  const store = await ctx.store('write');
  const stop = stopSignal();
  const lettersBefore = await openLetters(ctx, selected);
  const end = (await store.changeLogBounds()).newestSeq ?? 0;
  const running = prepared.start(store);
  const fatal = running.done.then(
    () => null,
    (error: unknown) => error,
  );
  let signalled: NodeJS.Signals | null = null;
  void stop.first.then((signal) => {
    signalled = signal;
  });
  for (;;) {
    const status = running.status();
    if (status.every((s) => s.offset >= end)) break;
    const ended = await Promise.race([
      fatal,
      stop.first.then(() => 'stopped' as const),
      new Promise<'wait'>((resolve) => setTimeout(() => resolve('wait'), CHECK_MS)),
    ]);
    if (ended !== 'wait') break; // a fatal error (or, null, every runner ended), or a signal
  }
  const status = running.status();
  await running.stop();
  stop.dispose();
  const error = await Promise.race([fatal, Promise.resolve(null)]);
  if (error !== null) throw error;
  const lettersAfter = await openLetters(ctx, selected);
  for (const s of status) {
    const letters = (lettersAfter.get(s.name) ?? 0) - (lettersBefore.get(s.name) ?? 0);
    ctx.print(
      `destination "${s.name}": ${s.offset >= end ? 'caught up' : 'stopped'} at seq ${formatCount(s.offset)} of ${formatCount(end)}` +
        (letters > 0 ? `; ${formatCount(letters)} record(s) refused: \`syncline failed\`` : ''),
    );
  }
  if (signalled !== null) return signalled === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  const refused = [...lettersAfter].some(([name, n]) => n > (lettersBefore.get(name) ?? 0));
  return refused ? EXIT.failed : EXIT.ok;
}

/** Open dead letters per destination (a destination's letters carry its name as their sink). */
async function openLetters(
  ctx: CliContext,
  destinations: readonly ResolvedDestination[],
): Promise<Map<string, number>> {
  const store = await ctx.store('write');
  const letters = await store.listDeadLetters({ limit: 1_000_000 });
  const names = new Set(destinations.map((d) => d.name));
  const counts = new Map<string, number>();
  for (const letter of letters) {
    if (letter.sink !== undefined && names.has(letter.sink))
      counts.set(letter.sink, (counts.get(letter.sink) ?? 0) + 1);
  }
  return counts;
}
