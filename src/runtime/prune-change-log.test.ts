import { describe, expect, it } from 'vitest';
import type { ChangeFeed, PruneChanges } from '../core/store.ts';
import type { Logger } from '../core/types.ts';
import { PRUNE_BATCH, pruneChangeLog } from './prune-change-log.ts';

/** A change feed whose prunes delete `counts` rows in turn (an Error: that call fails). */
function feed(counts: (number | Error)[]) {
  const calls: PruneChanges[] = [];
  const store = {
    async pruneChanges(args: PruneChanges) {
      calls.push(args);
      const next = counts.shift() ?? 0;
      if (next instanceof Error) throw next;
      return next;
    },
  } as unknown as ChangeFeed;
  return { store, calls };
}

function logger() {
  const lines: { level: string; obj: object | string; msg?: string }[] = [];
  const at = (level: string) => (obj: object | string, msg?: string) => lines.push({ level, obj, msg });
  const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

const NOW = Date.parse('2026-03-08T00:00:00.000Z');

describe('pruneChangeLog', () => {
  it('deletes in bounded calls until one deletes less than a full batch, measuring the window back from now', async () => {
    const { store, calls } = feed([PRUNE_BATCH, PRUNE_BATCH, 3]);
    const { log, lines } = logger();
    expect(await pruneChangeLog({ store, retentionMs: 7 * 86_400_000, log, now: NOW })).toBe(
      2 * PRUNE_BATCH + 3,
    );
    expect(calls).toEqual(Array(3).fill({ olderThan: '2026-03-01T00:00:00.000Z', limit: PRUNE_BATCH }));
    expect(lines).toEqual([
      {
        level: 'info',
        obj: { deleted: 2 * PRUNE_BATCH + 3, olderThan: '2026-03-01T00:00:00.000Z' },
        msg: 'pruned the change log',
      },
    ]);
  });

  it('logs a failure as a warning and returns what it deleted before, without throwing', async () => {
    const { store } = feed([PRUNE_BATCH, new Error('disk full')]);
    const { log, lines } = logger();
    expect(await pruneChangeLog({ store, retentionMs: 0, log, now: NOW })).toBe(PRUNE_BATCH);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'could not prune the change log; the next sync tries again'],
    ]);
  });

  it('stops between calls once the stop signal is aborted', async () => {
    const { store, calls } = feed([PRUNE_BATCH, PRUNE_BATCH]);
    const stop = new AbortController();
    stop.abort();
    expect(
      await pruneChangeLog({ store, retentionMs: 0, log: logger().log, now: NOW, stop: stop.signal }),
    ).toBe(0);
    expect(calls).toEqual([]);
  });
});
