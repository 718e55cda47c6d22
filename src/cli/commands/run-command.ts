import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { reportProgress } from '../progress-reporter.ts';
import { drawLiveTable } from '../service-table.ts';
import { stopSignal } from '../stop-signal.ts';
import { serviceAction, startServiceWithApi, stopServiceWithApi } from './service-lifecycle.ts';

interface RunFlags {
  readonly listen?: string | false;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run as a service: keep every stream fresh on its schedule, serve the HTTP API, /metrics and health checks ' +
        'until SIGTERM or Ctrl-C',
    )
    .option(
      '--listen <host:port>',
      'where the HTTP API listens (default: config service.listen, 127.0.0.1:7373)',
    )
    .option('--no-listen', 'serve no HTTP API')
    .addHelpText(
      'after',
      '\nSet SYNCLINE_API_TOKEN to require `Authorization: Bearer <token>` on every route but /healthz and ' +
        '/readyz (needed to listen beyond loopback). The first SIGTERM or Ctrl-C lets runs finish their page ' +
        'and exits 0 (within service.shutdownTimeout); a second one exits at once.',
    )
    .action(serviceAction('run', run));
}

async function run(ctx: CliContext, options: RunFlags): Promise<number> {
  const stop = stopSignal();
  const config = await ctx.config();
  let redraw = () => {};
  const started = await startServiceWithApi(ctx, {
    listen: options.listen === false ? null : (options.listen ?? config.service.listen),
    stop,
    onChange: () => redraw(),
  });
  const { service, events, server } = started;
  let stopDrawing: () => void;
  if (ctx.interactive) {
    const store = await ctx.store();
    const cursors = new Map((await store.listStreams()).map((s) => [s.stream, s.newestCursor]));
    const table = drawLiveTable({
      events,
      status: () => service.scheduler.status(),
      style: ctx.err,
      lines: ctx.lines,
      newestCursors: cursors,
    });
    redraw = table.redraw;
    stopDrawing = table.stop;
  } else {
    stopDrawing = reportProgress(events, ctx.progressOptions());
  }
  ctx.log.info(
    {
      streams: config.streams.length,
      scheduled: config.schedules.filter((s) => s.sync !== null).length,
      concurrency: config.sync.concurrency,
      ...(server ? { api: server.url } : {}),
    },
    server ? `syncline run: serving ${server.url}` : 'syncline run: started (no HTTP API)',
  );

  const signal = await stop.first;
  stop.onSecond(() => stopDrawing());
  ctx.log.warn(
    { signal },
    'stopping: no new runs; runs in progress finish their page (send again to exit at once)',
  );
  return stopServiceWithApi(ctx, 'run', started, () => stopDrawing());
}
