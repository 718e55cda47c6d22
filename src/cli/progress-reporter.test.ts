import { describe, expect, it } from 'vitest';
import { SyncEventBus, type SyncEvents } from '../core/events.ts';
import type { Logger } from '../core/types.ts';
import { reportProgress } from './progress-reporter.ts';

function recordingLog() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push(
        typeof obj === 'string'
          ? { level, fields: {}, msg: obj }
          : { level, fields: obj as Record<string, unknown>, msg: msg ?? '' },
      );
    };
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

const retry = (attempt: number): SyncEvents['request:retrying'] => ({
  stream: 'customers',
  runId: 'r1',
  what: 'GET http://127.0.0.1:1234/v1/customers',
  attempt,
  maxAttempts: 100,
  delayMs: 1300,
  reason: '503 from 127.0.0.1:1234',
  retryAfter: false,
  throttled: false,
});

describe('reportProgress off a terminal', () => {
  it('logs retries as warnings and waits as info, at most one of each per stream every everyMs', () => {
    const { log, lines } = recordingLog();
    const events = new SyncEventBus();
    let now = 1_000_000;
    const stop = reportProgress(events, { log, interactive: false, everyMs: 5000, now: () => now });
    events.emit('run:started', { stream: 'customers', runId: 'r1', mode: 'sync', checkpoint: null });
    // A storm: 50 retries within a second, then one more after everyMs.
    for (let i = 1; i <= 50; i++) {
      events.emit('request:retrying', retry(i));
      now += 20;
    }
    now += 5000;
    events.emit('request:retrying', retry(51));
    events.emit('rate:waiting', {
      stream: 'customers',
      runId: 'r1',
      what: 'GET http://127.0.0.1:1234/v1/customers',
      limiter: '127.0.0.1:1234',
      delayMs: 12_000,
      cause: 'budget',
      reason: "the API's budget at 127.0.0.1:1234 is spent until its reset (X-RateLimit-Remaining: 0)",
    });
    stop();
    const told = lines.filter((l) => l.msg !== 'run started');
    expect(told).toEqual([
      {
        level: 'warn',
        msg: 'retry 1 of 99 in 1.3 s: 503 from 127.0.0.1:1234',
        fields: expect.objectContaining({ stream: 'customers', attempt: 1, delayMs: 1300 }),
      },
      {
        level: 'warn',
        msg: 'retry 51 of 99 in 1.3 s: 503 from 127.0.0.1:1234',
        fields: expect.objectContaining({ attempt: 51, notLogged: 49 }),
      },
      {
        level: 'info',
        msg: "waiting 12 s: the API's budget at 127.0.0.1:1234 is spent until its reset (X-RateLimit-Remaining: 0)",
        fields: expect.objectContaining({ stream: 'customers', cause: 'budget', delayMs: 12_000 }),
      },
    ]);
    expect(told[0]!.fields).not.toHaveProperty('notLogged');
  });

  it('adds the expected total to progress lines when the source gave one', () => {
    const { log, lines } = recordingLog();
    const events = new SyncEventBus();
    const stop = reportProgress(events, { log, interactive: false, now: () => 0 });
    events.emit('run:started', { stream: 's', runId: 'r1', mode: 'sync', checkpoint: null });
    events.emit('run:estimated', { stream: 's', runId: 'r1', total: 500 });
    events.emit('page:committed', {
      stream: 's',
      runId: 'r1',
      page: {},
      totals: {
        pages: 1,
        fetched: 100,
        inserted: 100,
        updated: 0,
        unchanged: 0,
        stale: 0,
        flagged: 0,
        regressed: 0,
        deleted: 0,
        failed: 0,
        retries: 0,
        apiCalls: 1,
        bytes: 0,
        throttled: 0,
        waitMs: 0,
      },
      checkpoint: null,
      newestCursor: null,
    });
    stop();
    expect(lines.find((l) => l.msg === 'progress')?.fields).toMatchObject({ fetched: 100, expected: 500 });
  });
});
