import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { SyncEventBus } from '../../core/events.ts';
import { runStreams, type StreamOutcome } from '../../runtime/run-streams.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT, exitCodeFor } from '../exit-codes.ts';
import { formatCount, formatDuration, formatTable } from '../format-table.ts';
import { LIVE_LINE_LEGEND } from '../live-line.ts';
import { deadLettered, reportProgress } from '../progress-reporter.ts';
import type { TerminalStyle } from '../terminal-style.ts';

export function registerSyncCommand(program: Command): void {
  for (const [name, mode, description] of [
    ['sync', 'sync', 'run streams from the config into the store (all streams when none are named)'],
    [
      'reconcile',
      'reconcile',
      'scan streams fully: soft-delete what the source no longer has (only when the scan completed) and report ' +
        'the drift repaired',
    ],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('[streams...]', 'names of the streams to run')
      .option('--wait [seconds]', 'if another worker holds a stream, wait for it (default: up to 300 s)')
      .option('--json', 'print the outcome of each stream as JSON on stdout')
      .addHelpText('after', `\nOn a terminal, one live line per stream: ${LIVE_LINE_LEGEND}.`)
      .action(async (streams: string[], options: SyncFlags, command: Command) => {
        const ctx = CliContext.of(command);
        try {
          process.exitCode = await sync(ctx, streams, options, mode);
        } finally {
          await ctx.close();
        }
      });
  }
}

interface SyncFlags {
  readonly wait?: string | boolean;
  readonly json?: boolean;
}

async function sync(
  ctx: CliContext,
  only: string[],
  options: SyncFlags,
  mode: 'sync' | 'reconcile',
): Promise<number> {
  const config = await ctx.config();
  const store = await ctx.store('create');
  const events = new SyncEventBus();
  const stop = new AbortController();
  let signalled: NodeJS.Signals | null = null;
  const stopReporting = reportProgress(events, ctx.progressOptions());
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // A second signal: the user does not want to wait for the page in progress. The live lines
      // stop first, giving the terminal its cursor back.
      stopReporting();
      process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    }
    signalled = signal;
    // Printed above the live lines while they are drawn (see StderrLines), not into them.
    ctx.log.warn({ signal }, 'stopping after the page in progress (send again to exit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  let outcomes: StreamOutcome[];
  try {
    outcomes = await runStreams({
      config,
      store,
      only,
      events,
      log: ctx.log,
      stop: stop.signal,
      waitMs: waitMs(options.wait),
      request: { mode },
    });
  } finally {
    stopReporting();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (options.json) {
    ctx.printJson(outcomes.map(({ cause: _cause, ...rest }) => rest));
  } else if (ctx.interactive) {
    ctx.print(summary(outcomes, Date.now() - started, ctx.out));
  }
  for (const o of outcomes) {
    if (o.status === 'failed' || o.status === 'busy')
      ctx.log.error({ stream: o.stream }, o.error ?? o.status);
    if (o.status === 'paused_backfill')
      ctx.log.warn({ stream: o.stream, evidence: o.evidence }, o.error ?? o.status);
  }
  if (signalled) return signalled === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
  const worst = outcomes.map((o) =>
    o.status === 'ok' || o.status === 'partial'
      ? EXIT.ok
      : o.status === 'busy'
        ? EXIT.busy
        : o.status === 'paused_backfill'
          ? EXIT.paused
          : exitCodeFor(o.cause),
  );
  return worst.find((code) => code === EXIT.usage) ?? worst.find((code) => code !== EXIT.ok) ?? EXIT.ok;
}

function waitMs(wait: string | boolean | undefined): number {
  if (wait === undefined || wait === false) return 0;
  if (wait === true) return 300_000;
  const seconds = Number(wait);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new ConfigError(`--wait expects seconds, got "${wait}"`);
  return seconds * 1000;
}

function summary(outcomes: StreamOutcome[], ms: number, out: TerminalStyle): string {
  const rows = outcomes.map((o) => [
    o.stream,
    out.status(o.status),
    formatCount(o.counters.fetched),
    formatCount(o.counters.inserted),
    formatCount(o.counters.updated),
    formatCount(o.counters.unchanged),
    formatCount(o.counters.deleted),
    o.counters.failed > 0 ? out.bad(formatCount(o.counters.failed)) : formatCount(o.counters.failed),
    o.error ? out.bad(o.error) : '',
  ]);
  const table = formatTable(
    ['STREAM', 'STATUS', 'FETCHED', 'INSERTED', 'UPDATED', 'UNCHANGED', 'DELETED', 'FAILED', 'ERROR'],
    rows,
  );
  const notes = outcomes
    .filter((o) => o.counters.failed > 0)
    .map((o) => `${o.stream}: ${deadLettered(o.stream, o.counters.failed)}`);
  return `\n${table}\n${notes.length > 0 ? `\n${notes.join('\n')}\n` : ''}\n${out.muted(`done in ${formatDuration(ms)}`)}`;
}
