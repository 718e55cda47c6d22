import type { Command } from 'commander';
import { CliContext } from '../cli-context.ts';
import { formatDuration, formatTable } from '../format-table.ts';

export function registerWorkersCommand(program: Command): void {
  program
    .command('workers')
    .description(
      'the workers of the cluster: every `syncline run` on this PostgreSQL store, with host, pid, version, ' +
        'start, last heartbeat and the jobs each runs',
    )
    .option('--json', 'print JSON on stdout')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const store = await ctx.store('read');
        const cluster = store.cluster?.() ?? null;
        const workers = cluster ? await cluster.listWorkers() : [];
        if (options.json) return ctx.printJson(workers);
        if (!cluster) {
          ctx.print(
            `a ${store.capabilities.kind} store has no cluster: one \`syncline run\` runs its streams; ` +
              'workers share a PostgreSQL store (README "Scale out")',
          );
          return;
        }
        if (workers.length === 0) {
          ctx.print('no workers: start `syncline run` on this store (each one joins the cluster)');
          return;
        }
        const { out } = ctx;
        const now = Date.now();
        const ago = (iso: string) => `${formatDuration(Math.max(0, now - Date.parse(iso)))} ago`;
        ctx.print(
          formatTable(
            ['HOST', 'PID', 'VERSION', 'STARTED', 'HEARTBEAT', 'STATE', 'RUNNING'],
            workers.map((w) => [
              w.host,
              String(w.pid),
              w.version,
              out.muted(ago(w.startedAt)),
              ago(w.heartbeatAt),
              w.live ? out.ok('live') : out.bad('silent'),
              w.running.length === 0
                ? out.muted('-')
                : w.running
                    .map((job) =>
                      job.mode && job.job.startsWith('sync:') ? `${job.job} (${job.mode})` : job.job,
                    )
                    .join(', '),
            ]),
          ),
        );
        const silent = workers.filter((w) => !w.live);
        if (silent.length > 0) {
          ctx.print(
            `\n${out.warn('SILENT')}: ${silent.length} worker(s) went past their service.workerTimeout without a heartbeat; ` +
              'the next heartbeat of a live worker takes them for dead and hands their jobs on',
          );
        }
      } finally {
        await ctx.close();
      }
    });
}
