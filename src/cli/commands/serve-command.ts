import type { Command } from 'commander';
import type { CliContext } from '../cli-context.ts';
import { reportProgress } from '../progress-reporter.ts';
import { stopSignal } from '../stop-signal.ts';
import { serviceAction, startServiceWithApi, stopServiceWithApi } from './service-lifecycle.ts';

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
    .action(serviceAction('serve', serve));
}

async function serve(ctx: CliContext, options: ServeFlags): Promise<number> {
  const stop = stopSignal();
  const config = await ctx.config();
  const started = await startServiceWithApi(ctx, {
    listen: options.listen ?? config.service.listen,
    stop,
    mode: 'serve',
  });
  const url = started.server!.url;
  // The runs asked for here report as a `syncline sync` does.
  const stopReporting = reportProgress(started.events, ctx.progressOptions());
  ctx.log.info(
    { streams: config.streams.length, api: url },
    `syncline serve: serving ${url} (no schedules run here)`,
  );

  const signal = await stop.first;
  ctx.log.warn({ signal }, 'stopping: runs in progress finish their page (send again to exit at once)');
  return stopServiceWithApi(ctx, 'serve', started, stopReporting);
}
