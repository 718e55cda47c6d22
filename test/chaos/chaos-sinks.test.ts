import { describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../src/core/types.ts';
import { checkSink, type ReceivedEvent, redisObserver, type SinkObserver } from './chaos-sinks.ts';

function row(seq: number, stream = 'a', kind: ChangeRow['kind'] = 'insert'): ChangeRow {
  return {
    seq,
    stream,
    key: `k${seq}`,
    kind,
    hash: 'h',
    version: '1',
    runId: 'r',
    at: '2026-01-01T00:00:00Z',
  };
}

function received(seq: number, stream = 'a', channel = 'c', kind = 'insert'): ReceivedEvent {
  return { id: `${stream}:${seq}`, seq, stream, key: `k${seq}`, kind, channel };
}

function observer(events: ReceivedEvent[], config: Record<string, unknown> = {}, problems: string[] = []) {
  return {
    name: 'probe',
    env: {},
    config: () => ({ name: 'probe', ...config }),
    start: async () => {},
    events: async () => events,
    notes: () => '',
    problems: () => problems,
    stop: async () => {},
  } satisfies SinkObserver;
}

describe("checkSink (the chaos run's check of a sink against the change log)", () => {
  const log = [row(1), row(2, 'b'), row(3), row(5, 'b', 'delete')];

  it('passes at-least-once delivery in order, counting duplicates', async () => {
    const events = [1, 2, 1, 2, 3, 5].map((seq) => received(seq, seq % 2 === 0 || seq === 5 ? 'b' : 'a'));
    events[5] = received(5, 'b', 'c', 'delete');
    const check = await checkSink(observer(events), log);
    expect(check).toMatchObject({
      inLog: 4,
      received: 6,
      duplicates: 2,
      missing: 0,
      unknown: 0,
      outOfOrder: 0,
    });
  });

  it('finds a gap, an event the log does not hold, a wrong kind and a first receipt out of order', async () => {
    const events = [received(1), received(3), received(2, 'b'), received(9), received(5, 'b')];
    const check = await checkSink(observer(events), log);
    expect(check).toMatchObject({ missing: 1, unknown: 2, outOfOrder: 1 });
    expect(check.differences.join('\n')).toMatch(/b:2 first received after seq 3/);
    expect(check.differences.join('\n')).toMatch(/never received b:5/);
  });

  it("checks order per channel only, and only the rows the sink's filter selects", async () => {
    const events = [received(3, 'a', 'x'), received(1, 'a', 'y')];
    const check = await checkSink(observer(events, { streams: ['a'] }), log);
    expect(check).toMatchObject({ inLog: 2, missing: 0, unknown: 0, outOfOrder: 0 });
    const wrongStream = await checkSink(observer([received(2, 'b')], { streams: ['a'] }), log);
    expect(wrongStream).toMatchObject({ unknown: 1, missing: 2 });
  });

  it('counts what the consumer refused (a bad signature)', async () => {
    const events = [1, 2, 3, 5]
      .map((seq) => log.find((r) => r.seq === seq)!)
      .map((r) => ({
        ...received(r.seq, r.stream),
        kind: r.kind,
      }));
    const check = await checkSink(observer(events, {}, ['a request failed verification']), log);
    expect(check.invalid).toBe(1);
    expect(check.differences).toEqual(['probe: a request failed verification']);
  });

  it('says how to start Redis when there is none', async () => {
    await expect(redisObserver('redis://127.0.0.1:1').start()).rejects.toThrow(
      /needs Redis at redis:\/\/127\.0\.0\.1:1 .*redis-server --daemonize yes --bind 127\.0\.0\.1 --port 6379/,
    );
  });
});
