import type { Command } from 'commander';
import { readApiToken } from '../../config/load-config.ts';
import { SyncEventBus } from '../../core/events.ts';
import type { Service } from '../../runtime/service.ts';
import { CliContext } from '../cli-context.ts';
import { EXIT } from '../exit-codes.ts';
import type { StopSignal } from '../stop-signal.ts';

/**
 * The action of a long-running command (`syncline run`, `syncline serve`): its exit code, then the
 * store closed. Should something (a close that hangs, a client library's socket or timer) hold the
 * process after it stopped, it says what and exits rather than linger.
 */
export function serviceAction<F>(name: string, body: (ctx: CliContext, flags: F) => Promise<number>) {
  return async (flags: F, command: Command): Promise<void> => {
    const ctx = CliContext.of(command);
    try {
      process.exitCode = await body(ctx, flags);
    } finally {
      setTimeout(() => {
        ctx.log.warn(
          { resources: process.getActiveResourcesInfo() },
          `syncline ${name}: still alive 10 s after it stopped; exiting`,
        );
        process.exit(process.exitCode ?? EXIT.ok);
      }, 10_000).unref();
      await ctx.close();
    }
  };
}

export interface StartedService {
  readonly service: Service;
  readonly events: SyncEventBus;
  /** The API's server; null with no listen address. */
  readonly server: { readonly url: string; close(): Promise<void> } | null;
  readonly stop: StopSignal;
}

/**
 * Starts the service and its HTTP API (and dashboard). The API opens before any run starts, so a
 * refused address (beyond loopback without a token, a port in use) stops the command with nothing
 * run.
 */
export async function startServiceWithApi(
  ctx: CliContext,
  options: {
    listen: string | null;
    /** Made by the caller first thing: a SIGTERM while the config or the store opens still stops cleanly. */
    stop: StopSignal;
    mode?: 'run' | 'serve';
    onChange?: () => void;
  },
): Promise<StartedService> {
  // Loaded here, not at the top: the service, its metrics and the HTTP server pull in modules
  // (prom-client, hono) that every other command would otherwise pay for at start-up.
  const [{ startService }, { createApiApp }, { startApiServer }] = await Promise.all([
    import('../../runtime/service.ts'),
    import('../../server/api-app.ts'),
    import('../../server/start-api-server.ts'),
  ]);
  const { stop } = options;
  const events = new SyncEventBus();
  const service = await startService({
    runtime: ctx.runtime,
    log: ctx.log,
    events,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.onChange ? { onChange: options.onChange } : {}),
  });
  const token = readApiToken();
  let server: StartedService['server'] = null;
  try {
    if (options.listen !== null) {
      const app = createApiApp(service.control, { token, log: ctx.log });
      server = await startApiServer({ app, listen: options.listen, token, log: ctx.log });
    }
    // In a cluster (a PostgreSQL store), a worker joins it here: the job queue's schema, its row.
    await service.start();
  } catch (error) {
    await service.stop();
    await server?.close();
    throw error;
  }
  return { service, events, server, stop };
}

/**
 * Stops what `startServiceWithApi` started: no new runs, runs in progress finish their page (within
 * `service.shutdownTimeout`), then the API closes. Runs that outlived the timeout are dropped with
 * their pages in flight, as a second signal would: their checkpoints did not move, the next start
 * re-reads those pages.
 */
export async function stopServiceWithApi(
  ctx: CliContext,
  name: string,
  started: StartedService,
  afterStop: () => void,
): Promise<number> {
  const inTime = await started.service.stop();
  await started.server?.close();
  afterStop();
  started.stop.dispose();
  ctx.log.info({ inTime }, `syncline ${name}: stopped`);
  if (!inTime) process.exit(EXIT.ok);
  return EXIT.ok;
}
