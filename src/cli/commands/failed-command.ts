import type { Command } from 'commander';
import { nowIso } from '../../core/clock.ts';
import { ConfigError } from '../../core/errors.ts';
import { recordAction } from '../../runtime/action-log.ts';
import type { StreamOutcome } from '../../runtime/run-streams.ts';
import { replayTargets, sinkLettersHint } from '../../runtime/stream-operations.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT, exitCodeFor } from '../exit-codes.ts';
import { formatCount, formatTable } from '../format-table.ts';
import { parseIds, parseLimit } from './parse-limit.ts';

export function registerFailedCommand(program: Command): void {
  const failed = program
    .command('failed')
    .description(
      'dead-lettered records: what failed, why, how often, and the raw payload (--json); ' +
        '`failed replay` applies them again, `failed ignore` sets them aside',
    )
    .argument('[stream]', 'only this stream')
    .option('--limit <n>', 'how many', parseLimit, 50)
    .option('--all', 'include resolved, replayed and ignored ones, not only open ones')
    .option('--json', 'print JSON (with payloads) on stdout')
    .action(
      async (
        stream: string | undefined,
        options: { limit: number; all?: boolean; json?: boolean },
        command: Command,
      ) => {
        const ctx = CliContext.of(command);
        try {
          const letters = await (await ctx.store('read')).listDeadLetters({
            ...(stream ? { stream } : {}),
            limit: options.limit,
            all: Boolean(options.all),
          });
          if (options.json) return ctx.printJson(letters);
          if (letters.length === 0)
            return ctx.print(options.all ? 'no failed records' : 'no open failed records');
          ctx.print(
            formatTable(
              ['ID', 'STREAM', 'KEY', 'STATUS', 'SEEN', 'LAST SEEN', 'REASON'],
              letters.map((d) => [
                String(d.id),
                d.stream,
                d.key ?? '-',
                d.status,
                `${formatCount(d.occurrences)}x`,
                d.lastSeenAt.replace('T', ' ').slice(0, 19),
                d.reason,
              ]),
            ),
          );
        } finally {
          await ctx.close();
        }
      },
    );

  failed
    .command('replay')
    .description(
      'apply open dead letters again through the normal path (validate, key, classify, commit under the ' +
        "stream's lease), after fixing the config or the source; the checkpoint stays where it is. " +
        'Letters of a sink or destination (events its target refused) are redelivered by `syncline sinks replay <name>`',
    )
    .argument('[stream]', 'only this stream (default: every stream of the config with open letters)')
    .option('--id <ids...>', 'only these letters (ids from `syncline failed`)', parseIds)
    .option('--json', 'print the outcome of each stream as JSON on stdout')
    .action(
      async (stream: string | undefined, options: { id?: number[]; json?: boolean }, command: Command) => {
        const ctx = CliContext.of(command);
        try {
          process.exitCode = await replay(ctx, stream, options);
        } finally {
          await ctx.close();
        }
      },
    );

  failed
    .command('ignore')
    .description('set open dead letters aside: they stop counting as failures (kept, listed with --all)')
    .argument('[stream]', 'every open letter of this stream')
    .option('--id <ids...>', 'only these letters (ids from `syncline failed`)', parseIds)
    .action(async (stream: string | undefined, options: { id?: number[] }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        if (!stream && !options.id) {
          throw new ConfigError(
            'failed ignore needs a stream or --id <ids...>: which letters should be ignored?',
          );
        }
        const store = await ctx.store();
        const count = await store.ignoreDeadLetters({
          ...(stream ? { stream } : {}),
          ...(options.id ? { ids: options.id } : {}),
          at: nowIso(),
        });
        const message = `ignored ${formatCount(count)} open dead letter${count === 1 ? '' : 's'}`;
        ctx.print(message);
        const ids = options.id ? ` (ids ${options.id.join(', ')})` : '';
        await recordAction(
          store,
          { stream: stream ?? null, action: 'ignore', origin: 'cli', detail: message + ids },
          ctx.log,
        );
      } finally {
        await ctx.close();
      }
    });
}

/** Replays the chosen letters, stream by stream; exit 1 when any failed again. */
async function replay(
  ctx: CliContext,
  stream: string | undefined,
  options: { id?: number[]; json?: boolean },
): Promise<number> {
  const config = await ctx.config();
  const store = await ctx.store();
  const targets = await replayTargets(
    store,
    { ...(stream ? { stream } : {}), ...(options.id ? { ids: options.id } : {}) },
    config.streams.map((s) => s.name),
    config.destinations.map((d) => d.name),
  );
  const outcomes: StreamOutcome[] = [];
  for (const target of targets) {
    const outcome = await ctx.runOne(target.stream, {
      mode: 'replay',
      ...(target.letters ? { letters: target.letters } : {}),
    });
    if (outcome) {
      outcomes.push(outcome);
      const letters = target.letters ? ` of letters ${target.letters.join(', ')}` : '';
      const detail = `replay${letters} ${outcome.status}: ${outcome.counters.fetched} fetched, ${outcome.counters.failed} failed again${outcome.error ? `; ${outcome.error}` : ''}`;
      await recordAction(store, { stream: target.stream, action: 'replay', origin: 'cli', detail }, ctx.log);
    }
  }
  // Letters the ids named are records (replayTargets refused any sink's); without ids, say what was left.
  const hint = options.id
    ? null
    : await sinkLettersHint(
        store,
        stream,
        config.destinations.map((d) => d.name),
      );
  if (options.json) {
    ctx.printJson(outcomes.map(({ cause: _cause, ...rest }) => rest));
  } else if (outcomes.length === 0 && hint === null) {
    ctx.print('no open dead letters to replay');
  }
  let code: number = EXIT.ok;
  for (const o of outcomes) {
    const c = o.counters;
    const applied = c.inserted + c.updated + c.deleted + c.unchanged + c.stale;
    if (!options.json) {
      ctx.print(
        `replay of "${o.stream}" ${o.status}: ${formatCount(c.fetched)} letter${c.fetched === 1 ? '' : 's'}, ` +
          `${formatCount(applied)} applied ` +
          `(${formatCount(c.inserted)} inserted, ${formatCount(c.updated)} updated, ${formatCount(c.unchanged)} already current), ` +
          `${formatCount(c.failed)} failed again${o.error ? `; ${o.error}` : ''}` +
          (c.failed > 0 ? `\n  still open: \`syncline failed ${o.stream}\`` : ''),
      );
    }
    const own =
      o.status === 'ok'
        ? c.failed > 0
          ? EXIT.failed
          : EXIT.ok
        : o.status === 'busy'
          ? EXIT.busy
          : exitCodeFor(o.cause);
    if (code === EXIT.ok) code = own;
  }
  if (hint !== null && !options.json) ctx.print(hint);
  return code;
}
