import type { Command } from 'commander';
import { readApiToken } from '../../config/load-config.ts';
import { SyncEventBus } from '../../core/events.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import { reportProgress } from '../progress-reporter.ts';
import { stopSignal } from '../stop-signal.ts';

interface ServeFlags {
  readonly listen?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve the HTTP API and the dashboard for a store without running its schedules: no scheduled run, ' +
        'no sink delivered; a sync or reconcile asked for (API, dashboard) still runs, until SIGTERM or Ctrl-C',
    )
    .option(
      '--listen <host:port>',
      'where the HTTP API listens (default: config service.listen, 127.0.0.1:7373)',
    )
    .addHelpText(
      'after',
      '\nOn SQLite, a run asked for runs in this process (the stream lease keeps it from racing a `syncline run` ' +
        'on the same file). On PostgreSQL, serve joins no cluster as a worker: what is asked for is queued for ' +
        "the cluster's workers (`syncline run`). Set SYNCLINE_API_TOKEN to require `Authorization: Bearer <token>` " +
        'on every route but /healthz and /readyz (needed to listen beyond loopback).',
    )
    .action(async (options: ServeFlags, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        process.exitCode = await serve(ctx, options);
      } finally {
        // As `syncline run`: should something hold the process once stopped, say what and exit.
        setTimeout(() => {
          ctx.log.warn(
            { resources: process.getActiveResourcesInfo() },
            'syncline serve: still alive 10 s after it stopped; exiting',
          );
          process.exit(process.exitCode ?? EXIT.ok);
        }, 10_000).unref();
        await ctx.close();
      }
    });
}

async function serve(ctx: CliContext, options: ServeFlags): Promise<number> {
  // Loaded here, as `syncline run` does: other commands need not pay for the server's modules.
  const [{ startService }, { createApiApp }, { startApiServer }] = await Promise.all([
    import('../../runtime/service.ts'),
    import('../../server/api-app.ts'),
    import('../../server/start-api-server.ts'),
  ]);
  const stop = stopSignal();
  const config = await ctx.config();
  const events = new SyncEventBus();
  const service = await startService({ runtime: ctx.runtime, log: ctx.log, events, mode: 'serve' });
  const listen = options.listen ?? config.service.listen;
  const token = readApiToken();
  let server: { url: string; close(): Promise<void> } | null = null;
  try {
    const app = createApiApp(service.control, { token, log: ctx.log });
    server = await startApiServer({ app, listen, token, log: ctx.log });
    await service.start();
  } catch (error) {
    await service.stop();
    await server?.close();
    throw error;
  }
  // The runs asked for here report as a `syncline sync` does.
  const stopReporting = reportProgress(events, ctx.progressOptions());
  ctx.log.info(
    { streams: config.streams.length, api: server.url },
    `syncline serve: serving ${server.url} (no schedules run here)`,
  );

  const signal = await stop.first;
  ctx.log.warn({ signal }, 'stopping: runs in progress finish their page (send again to exit at once)');
  const inTime = await service.stop();
  await server.close();
  stopReporting();
  stop.dispose();
  ctx.log.info({ inTime }, 'syncline serve: stopped');
  if (!inTime) process.exit(EXIT.ok);
  return EXIT.ok;
}
