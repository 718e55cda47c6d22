import { describe, expect, it } from 'vitest';
import { SyncEventBus } from '../core/events.ts';
import { emptyCounters } from '../core/types.ts';
import type { ScheduledStreamStatus } from '../runtime/service-types.ts';
import { drawLiveTable, serviceTable } from './service-table.ts';
import { StderrLines } from './stderr-lines.ts';
import { TerminalStyle } from './terminal-style.ts';

const NOW = Date.parse('2026-12-06T12:00:00.000Z');
const plain = new TerminalStyle(false);

function status(stream: string, change: Partial<ScheduledStreamStatus> = {}): ScheduledStreamStatus {
  return {
    stream,
    state: 'idle',
    schedule: 'every 30s',
    reconcileSchedule: null,
    nextRunAt: null,
    nextRunMode: null,
    running: null,
    consecutiveFailures: 0,
    backoffUntil: null,
    lastOutcome: null,
    ...change,
  };
}

describe('serviceTable', () => {
  it('shows each stream state, last run, next run, lag and records/s', () => {
    const table = serviceTable(
      [
        status('orders', {
          state: 'running',
          running: { mode: 'sync', startedAt: '2026-12-06T11:59:58.000Z' },
          lastOutcome: { status: 'ok', endedAt: '2026-12-06T11:59:30.000Z', error: null },
        }),
        status('prices', {
          nextRunAt: '2026-12-06T12:00:12.000Z',
          nextRunMode: 'reconcile',
          lastOutcome: { status: 'ok', endedAt: '2026-12-06T11:59:55.000Z', error: null },
        }),
        status('broken', {
          state: 'backing_off',
          consecutiveFailures: 3,
          backoffUntil: '2026-12-06T12:00:40.000Z',
          lastOutcome: { status: 'failed', endedAt: '2026-12-06T11:59:59.000Z', error: '503 from api\nmore' },
        }),
        status('held', { state: 'paused' }),
        status('manual', { schedule: null }),
      ],
      new Map([
        [
          'orders',
          { newestCursor: '2026-12-06T11:58:00.000Z', recordsPerSecond: 1234.4, runStartedAt: null },
        ],
      ]),
      NOW,
      plain,
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^STREAM\s+STATE\s+LAST RUN\s+NEXT RUN\s+LAG\s+REC\/S\s+ERROR/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('orders')).toMatch(/running sync\s+ok 30 s ago\s+-\s+2 min\s+1234/);
    expect(row('prices')).toMatch(/idle\s+ok 5\.0 s ago\s+in 12 s reconcile/);
    // The error's first line only; the backoff's end is the next run.
    expect(row('broken')).toMatch(/backing off \(3 failed\)\s+failed 1\.0 s ago\s+in 40 s/);
    expect(row('broken')).toContain('503 from api');
    expect(row('broken')).not.toContain('more');
    expect(row('held')).toMatch(/PAUSED: approve\s+-\s+after approval/);
    expect(row('manual')).toMatch(/on demand/);
  });
});

describe('drawLiveTable', () => {
  it('redraws in place, prints log lines above the table, and gives the cursor back', () => {
    const events = new SyncEventBus();
    const lines = new StderrLines();
    let out = '';
    const table = drawLiveTable({
      events,
      status: () => [status('orders')],
      style: plain,
      lines,
      everyMs: 60_000,
      write: (text) => {
        out += text;
      },
    });
    events.emit('run:started', { stream: 'orders', runId: 'r1', checkpoint: null, mode: 'sync' });
    events.emit('run:finished', {
      stream: 'orders',
      runId: 'r1',
      status: 'ok',
      totals: { ...emptyCounters(), fetched: 500 },
      error: null,
      durationMs: 1000,
      mode: 'sync',
    });
    lines.write('a log line\n');
    table.redraw();
    table.stop();
    expect(out.startsWith('\x1b[?25l')).toBe(true);
    expect(out.endsWith('\x1b[?25h')).toBe(true);
    // Before the log line, the table (2 lines) is erased; the line, then the table again.
    expect(out).toContain('\x1b[2A\x1b[Ja log line\nSTREAM');
    expect(out).toMatch(/orders\s+idle\s+-\s+-\s+-\s+500/);
    // After stop, log lines go to stderr again, not through the table.
    const before = out.length;
    table.redraw();
    expect(out.length).toBe(before);
  });
});
