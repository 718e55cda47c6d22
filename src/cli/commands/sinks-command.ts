import type { Command } from 'commander';
import { readApiToken } from '../../config/load-config.ts';
import { ConfigError } from '../../core/errors.ts';
import { sinkConsumer } from '../../core/sink.ts';
import type { ChangeFeed } from '../../core/store.ts';
import { recordAction } from '../../runtime/action-log.ts';
import { describeSinkReplay, replayableSink, replaySinkLetters } from '../../runtime/sink-replay.ts';
import { destinationConsumer, prepareSinks, selectSinks } from '../../runtime/sinks.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { formatCount, formatTable } from '../format-table.ts';
import { stopSignal } from '../stop-signal.ts';
import { parseIds } from './parse-limit.ts';

/** `sinks status` counts the rows beyond an offset up to this many, then says "10,000+". */
const LAG_COUNT_LIMIT = 10_000;

export function registerSinksCommand(program: Command): void {
  const sinks = program
    .command('sinks')
    .description(
      'deliver the change log to the config’s sinks (webhooks, Redis, NATS), show where each one is, ' +
        'or redeliver the events a target refused',
    );
  sinks
    .command('run [names...]')
    .description(
      'deliver every change to the sinks (all of them, or those named) until SIGTERM or Ctrl-C; ' +
        'each resumes after the last event its target confirmed',
    )
    .action(async (names: string[], _options: unknown, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await run(ctx, names);
      } finally {
        await ctx.close();
      }
    });
  sinks
    .command('status')
    .description(
      'each sink’s and destination’s offset (the last seq its target confirmed) and the changes still to deliver',
    )
    .action(async (_options: unknown, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const config = await ctx.config();
        const store = await ctx.store('read');
        const rows: string[][] = [];
        // With neither, its "defines no sinks" error.
        if (config.sinks.length === 0 && config.destinations.length === 0) selectSinks(config, []);
        const consumers = [
          ...config.sinks.map((s) => ({ ...s, consumer: sinkConsumer(s.name), shown: s.type as string })),
          ...config.destinations.map((d) => ({
            ...d,
            consumer: destinationConsumer(d.name),
            shown: 'destination',
          })),
        ];
        for (const sink of consumers) {
          if (sink.type === 'sse') {
            // No offset: each client holds its own position. Its clients are the running
            // service's to count (not read here, where no service may run).
            rows.push([sink.name, sink.type, '-', '-', 'served by syncline run (GET /v1/events)']);
            continue;
          }
          const offset = await store.consumerOffset(sink.consumer);
          const lag = await countAfter(store, offset?.seq ?? 0);
          rows.push([
            sink.name,
            sink.shown,
            offset === null ? 'not started' : String(offset.seq),
            lag > LAG_COUNT_LIMIT ? `${formatCount(LAG_COUNT_LIMIT)}+` : formatCount(lag),
            offset?.updatedAt ?? '-',
          ]);
        }
        ctx.print(formatTable(['SINK', 'TYPE', 'OFFSET', 'LAG', 'UPDATED'], rows));
      } finally {
        await ctx.close();
      }
    });
  sinks
    .command('replay <name>')
    .description(
      'send the events a sink’s or destination’s target refused for good (its dead letters, `syncline failed`) ' +
        'again, oldest first, once the target is fixed; confirmed ones are settled (a destination stores the ' +
        'external ids it created), its offset stays where it is',
    )
    .option('--id <ids...>', 'only these letters (ids from `syncline failed`)', parseIds)
    .option('--all', 'every open letter of the sink or destination')
    .action(async (name: string, options: { id?: number[]; all?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await replay(ctx, name, options);
      } finally {
        await ctx.close();
      }
    });
  sinks
    .command('resume <name>')
    .description(
      'resume a sink the running service (`syncline run`) paused after failing longer than its pauseAfter; ' +
        'asks the service over its HTTP API (SYNCLINE_API_TOKEN when it has one)',
    )
    .option('--url <url>', 'the service API (default: http:// + the config’s service.listen)')
    .action(async (name: string, options: { url?: string }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const config = await ctx.config();
        const base = options.url ?? `http://${config.service.listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
        ctx.print(await resumeThroughApi(base, name));
      } finally {
        await ctx.close();
      }
    });
}

/** POSTs `/v1/sinks/<name>/resume` to a running service; its answer's message, or a one-line ConfigError. */
async function resumeThroughApi(base: string, name: string): Promise<string> {
  const token = readApiToken();
  const url = `${base.replace(/\/+$/, '')}/v1/sinks/${encodeURIComponent(name)}/resume`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new ConfigError(`no syncline run answers at ${base}: start it, or pass --url <its API>`);
  }
  const body = (await res.json().catch(() => null)) as {
    message?: string;
    error?: { message?: string };
  } | null;
  if (res.status === 401) {
    throw new ConfigError(`the service at ${base} wants its API token: set SYNCLINE_API_TOKEN`);
  }
  if (!res.ok) {
    throw new ConfigError(
      `the service at ${base} answered ${res.status}: ${body?.error?.message ?? 'no message'}`,
    );
  }
  return body?.message ?? `resumed sink "${name}"`;
}

/** Redelivers the sink's letters; exit 1 when some were refused again or a transient failure stopped it. */
async function replay(
  ctx: CliContext,
  name: string,
  options: { id?: number[]; all?: boolean },
): Promise<number> {
  if (options.id && options.all) {
    throw new ConfigError('sinks replay takes --id <ids...> or --all, not both');
  }
  if (!options.id && !options.all) {
    throw new ConfigError(
      `sinks replay needs --all or --id <ids...>: which letters of "${name}" should be redelivered?`,
    );
  }
  const sink = replayableSink(await ctx.config(), name);
  // Ctrl-C ends the process: a batch in flight stays open, and a later replay sends it again.
  const store = await ctx.store();
  const o = await replaySinkLetters({ store, sink, ...(options.id ? { ids: options.id } : {}) });
  await recordAction(
    store,
    { stream: null, target: name, action: 'replay_sink', origin: 'cli', detail: describeSinkReplay(o) },
    ctx.log,
  );
  ctx.print(describeSinkReplay(o) + (o.refusedAgain + o.left > 0 ? '\n  still open: `syncline failed`' : ''));
  if (o.error !== null) process.stderr.write(`syncline: the replay stopped: ${o.error}\n`);
  return o.refusedAgain + o.left > 0 ? EXIT.failed : EXIT.ok;
}

async function run(ctx: CliContext, names: readonly string[]): Promise<number> {
  const stop = stopSignal();
  const config = await ctx.config();
  const selected = selectSinks(config, names);
  // Built first: a bad target or a missing secret is told before the store is opened.
  const prepared = await prepareSinks({ sinks: selected, log: ctx.log });
  const store = await ctx.store('write');
  // No sync runs in this process: the sinks poll for what other processes commit.
  const running = prepared.start(store);
  ctx.log.info({ sinks: selected.map((s) => s.name) }, 'syncline sinks run: delivering');
  const fatal = running.done.then(
    () => null,
    (error: unknown) => error,
  );
  const ended = await Promise.race([stop.first.then(() => null), fatal]);
  // A second signal exits without waiting for the deliveries in flight (their events come again).
  await running.stop();
  stop.dispose();
  if (ended !== null) throw ended;
  ctx.log.info({ sinks: running.status() }, 'syncline sinks run: stopped');
  return EXIT.ok;
}

/** Change-log rows after `seq`, counted up to `LAG_COUNT_LIMIT + 1`. */
async function countAfter(feed: ChangeFeed, seq: number): Promise<number> {
  return (await feed.readChanges({ afterSeq: seq, limit: LAG_COUNT_LIMIT + 1 })).length;
}
