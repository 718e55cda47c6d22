import type { Command } from 'commander';
import { readApiToken } from '../../config/load-config.ts';
import { SyncEventBus } from '../../core/events.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { reportProgress } from '../progress-reporter.ts';
import { drawLiveTable } from '../service-table.ts';
import { stopSignal } from '../stop-signal.ts';

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
    .action(async (options: RunFlags, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await run(ctx, options);
      } finally {
        // The service has stopped: closing the store is all that is left, and then nothing should
        // hold the process. Should something (a close that hangs, a client library's socket or
        // timer) hold it, say what and exit rather than linger.
        setTimeout(() => {
          ctx.log.warn(
            { resources: process.getActiveResourcesInfo() },
            'syncline run: still alive 10 s after it stopped; exiting',
          );
          process.exit(process.exitCode ?? EXIT.ok);
        }, 10_000).unref();
        await ctx.close();
      }
    });
}

async function run(ctx: CliContext, options: RunFlags): Promise<number> {
  // Loaded here, not at the top: the service, its metrics and the HTTP server pull in modules
  // (prom-client, hono) that every other command would otherwise pay for at start-up.
  const [{ startService }, { createApiApp }, { startApiServer }] = await Promise.all([
    import('../../runtime/service.ts'),
    import('../../server/api-app.ts'),
    import('../../server/start-api-server.ts'),
  ]);
  // Listening from the start: a SIGTERM while the store opens still stops cleanly, with exit 0.
  const stop = stopSignal();
  const config = await ctx.config();
  const events = new SyncEventBus();
  let redraw = () => {};
  const service = await startService({
    runtime: ctx.runtime,
    log: ctx.log,
    events,
    onChange: () => redraw(),
  });
  // The API opens before any run starts: a refused address (beyond loopback without a token, a
  // port in use) stops the command with nothing run.
  const listen = options.listen === false ? null : (options.listen ?? config.service.listen);
  const token = readApiToken();
  let server: { url: string; close(): Promise<void> } | null = null;
  try {
    if (listen !== null) {
      const app = createApiApp(service.control, { token, log: ctx.log });
      server = await startApiServer({ app, listen, token, log: ctx.log });
    }
    // In a cluster (a PostgreSQL store), joining it: the job queue's schema, this worker's row.
    await service.start();
  } catch (error) {
    await service.stop();
    await server?.close();
    throw error;
  }
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
  const inTime = await service.stop();
  await server?.close();
  stopDrawing();
  stop.dispose();
  ctx.log.info({ inTime }, 'syncline run: stopped');
  // Runs that outlived the shutdown timeout are dropped with their pages in flight, as a second
  // signal would: their checkpoints did not move, the next start re-reads those pages.
  if (!inTime) process.exit(EXIT.ok);
  return EXIT.ok;
}
