import type { Command } from 'commander';
import { readEnvSecret } from '../../config/load-config.ts';
import { formatBytes } from '../../core/format-bytes.ts';
import type { Json } from '../../core/types.ts';
import { captureSlots, readCaptureSlots } from '../../runtime/cdc-status.ts';
import { DESTINATION_COUNT_LIMIT, destinationStates } from '../../runtime/destination-status.ts';
import { lagMs } from '../../runtime/lag.ts';
import { WEBHOOK_BACKLOG_LIMIT, webhookState } from '../../runtime/webhook-status.ts';
import { CliContext } from '../cli-context.ts';
import { formatCheckpoint, formatCount, formatDuration, formatTable } from '../format-table.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'per stream: last run, status, records, checkpoint, lag, failed records; per destination: ' +
        'offset, changes still to write (lag) and records its API refused',
    )
    .option('--json', 'print JSON on stdout')
    .action(async (options: { json?: boolean }, command: Command) => {
      const ctx = CliContext.of(command);
      try {
        const store = await ctx.store('read');
        const streams = await store.listStreams();
        const now = Date.now();
        const rows = streams.map((s) => ({
          stream: s.stream,
          status: s.lastRun?.status ?? null,
          lastRunAt: s.lastRun?.endedAt ?? s.lastRun?.startedAt ?? null,
          records: s.records,
          checkpoint: s.checkpoint,
          /** The checkpoint in words (HTTP streams), or short JSON: the table's CHECKPOINT cell. */
          checkpointSummary: formatCheckpoint(s.checkpoint),
          newestCursor: s.newestCursor,
          lagSeconds: nullable(lagMs(s.newestCursor, now), (ms) => Math.round(ms / 1000)),
          failedRecords: s.openFailures,
          lastError: s.lastRun?.error ?? null,
          warnings: runWarnings(s.lastRun?.evidence ?? null),
        }));
        if (options.json) return ctx.printJson(rows);
        // Destinations beside the streams (`syncline push` writes them): read only with a config.
        const config = ctx.runtime.hasConfig() ? await ctx.config() : null;
        const destinations = await destinationStates(store, config?.destinations ?? []);
        const { out } = ctx;
        const count = (n: number) =>
          n > DESTINATION_COUNT_LIMIT ? `${formatCount(DESTINATION_COUNT_LIMIT)}+` : formatCount(n);
        const destinationTable =
          destinations.length === 0
            ? null
            : formatTable(
                ['DESTINATION', 'OFFSET', 'LAG', 'FAILED', 'UPDATED'],
                destinations.map((d) => [
                  d.destination,
                  d.offset === null ? out.muted('not started') : String(d.offset),
                  count(d.lag),
                  d.openDeadLetters > 0 ? out.bad(count(d.openDeadLetters)) : '0',
                  d.updatedAt === null ? out.muted('-') : d.updatedAt,
                ]),
              );
        if (rows.length === 0) {
          ctx.print('no streams synced yet; run `syncline sync`');
          if (destinationTable !== null) ctx.print(`\n${destinationTable}`);
          return;
        }
        const paused = rows.filter((r) => r.status === 'paused_backfill');
        ctx.print(
          formatTable(
            ['STREAM', 'LAST RUN', 'STATUS', 'RECORDS', 'CHECKPOINT', 'LAG', 'FAILED'],
            rows.map((r) => [
              r.stream,
              out.muted(r.lastRunAt ? `${formatDuration(now - Date.parse(r.lastRunAt))} ago` : 'never'),
              out.status(r.status, r.status === 'paused_backfill' ? 'PAUSED' : (r.status ?? '-')),
              formatCount(r.records),
              r.checkpointSummary,
              r.lagSeconds === null ? out.muted('-') : formatDuration(r.lagSeconds * 1000),
              r.failedRecords > 0 ? out.bad(formatCount(r.failedRecords)) : formatCount(r.failedRecords),
            ]),
          ),
        );
        if (destinationTable !== null) ctx.print(`\n${destinationTable}`);
        // Webhook streams: what waits in the inbox, and what the last reconciliation found.
        const webhookStreams = (config?.streams ?? []).filter((s) => s.receive);
        if (webhookStreams.length > 0) {
          const states = await Promise.all(
            webhookStreams.map(async (s) => {
              const checkpoint = streams.find((row) => row.stream === s.name)?.checkpoint ?? null;
              return { stream: s.name, ...(await webhookState(store, s.name, checkpoint)) };
            }),
          );
          const backlog = (n: number) =>
            n > WEBHOOK_BACKLOG_LIMIT ? `${formatCount(WEBHOOK_BACKLOG_LIMIT)}+` : formatCount(n);
          ctx.print(
            `\n${formatTable(
              ['WEBHOOK STREAM', 'BACKLOG', 'DRIFT'],
              states.map((w) => [
                w.stream,
                backlog(w.backlog),
                w.drift === null
                  ? out.muted('no reconciliation yet')
                  : `${formatCount(w.drift.changes)} at the last reconciliation`,
              ]),
            )}`,
          );
        }
        // CDC streams: their replication slots on the source (the WAL each keeps there).
        const slots = await readCaptureSlots(captureSlots(config?.streams ?? []), readEnvSecret);
        if (slots.length > 0) {
          ctx.print(
            `\n${formatTable(
              ['CDC SLOT', 'STREAMS', 'LAG', 'CONFIRMED', 'READING'],
              slots.map((slot) => [
                slot.slot,
                slot.streams.join(', '),
                slot.error !== null
                  ? out.bad('unreadable')
                  : !slot.exists
                    ? out.muted('no slot yet')
                    : slot.warning !== null
                      ? out.warn(formatBytes(slot.lagBytes ?? 0))
                      : formatBytes(slot.lagBytes ?? 0),
                slot.confirmedLsn ?? out.muted('-'),
                slot.active ? 'yes' : 'no',
              ]),
            )}`,
          );
          for (const slot of slots) {
            if (slot.warning !== null) ctx.print(`\n${out.warn('WARNING')}: ${slot.warning}`);
            if (slot.error !== null)
              ctx.print(`\n${out.warn('WARNING')}: cdc slot ${slot.slot}: ${slot.error}`);
          }
        }
        for (const d of destinations) {
          if (d.openDeadLetters > 0) {
            ctx.print(
              `\n${out.warn('REFUSED')}: destination ${d.destination}: ${count(d.openDeadLetters)} record(s) its API refused: ` +
                `see \`syncline failed\`, then \`syncline sinks replay ${d.destination} --all\``,
            );
          }
        }
        for (const r of rows) {
          for (const warning of r.warnings) ctx.print(`\n${out.warn('WARNING')}: ${r.stream}: ${warning}`);
        }
        for (const r of paused) {
          ctx.print(
            `\n${out.warn('PAUSED')}: ${r.stream}: ${r.lastError ?? 'suspected backfill'}\n` +
              `  see \`syncline runs ${r.stream} --json\` for the evidence, then \`syncline approve ${r.stream}\``,
          );
        }
      } finally {
        await ctx.close();
      }
    });
}

/** The warnings a run recorded in its evidence (e.g. a cursor field missing from every record). */
function runWarnings(evidence: Json | null): string[] {
  const warnings = (evidence as { warnings?: unknown } | null)?.warnings;
  return Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [];
}

function nullable<T, U>(value: T | null, f: (v: T) => U): U | null {
  return value === null ? null : f(value);
}
