import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError } from '../../../core/errors.ts';
import { createPaginator, type WindowPagination } from './create-paginator.ts';
import { FakeListApi, type FakeRecord, fakeOptions, ids, pageOf, walkPages } from './paginator-test-kit.ts';

const DAY = 86_400_000;
const START = '2023-01-01T00:00:00.000Z';
const T0 = Date.parse(START);
const NOW = T0 + 10 * DAY;
const at = (ms: number) => new Date(ms).toISOString();

function windows(config: Partial<WindowPagination> = {}, size = 3, now = () => NOW) {
  return createPaginator(
    { type: 'window', window: 3 * DAY, start: START, offsetParam: 'offset', ...config },
    fakeOptions(size, { now }),
  );
}

const records = (times: readonly number[]): FakeRecord[] =>
  times.map((t, i) => ({ id: `r${String(i).padStart(3, '0')}`, updated_at: at(T0 + t) }));

describe('WindowPaginator', () => {
  it('slices [from, to) from start up to the time the pass began', () => {
    const p = windows();
    expect(p.incremental).toBe(true);
    expect(p.first(null)).toEqual({ query: { limit: '3', from: START, to: at(T0 + 3 * DAY) } });
    const api = new FakeListApi([]);
    const walk = walkPages(p, p.first(null), (plan) => api.window(plan));
    expect(walk.plans.map((plan) => [plan.query.from, plan.query.to])).toEqual([
      [at(T0 + 3 * DAY), at(T0 + 6 * DAY)],
      [at(T0 + 6 * DAY), at(T0 + 9 * DAY)],
      [at(T0 + 9 * DAY), at(NOW)],
    ]);
    expect(walk.positions[2]).toEqual({ from: at(T0 + 9 * DAY), to: at(NOW), end: at(NOW), offset: 0 });
  });

  it('starts an incremental pass at the cursor value, in the configured format', () => {
    const p = createPaginator(
      { type: 'window', window: DAY, start: START },
      fakeOptions(3, { now: () => NOW, format: 'epoch_s' }),
    );
    const from = at(T0 + 9.5 * DAY);
    expect(p.first({ param: from, cursor: from }).query).toEqual({
      limit: '3',
      from: String((T0 + 9.5 * DAY) / 1000),
      to: String(NOW / 1000),
    });
  });

  it('pages inside a slice with the offset parameter', () => {
    const p = windows();
    const step = p.next(pageOf(records([1, 2, 3])), p.first(null));
    expect(step.next?.query).toEqual({ limit: '3', from: START, to: at(T0 + 3 * DAY), offset: '3' });
  });

  it('splits a slice in halves on a full page without an offset parameter, and throws at 1 ms', () => {
    const p = windows({ offsetParam: undefined, window: 4 });
    const step = p.next(pageOf(records([0, 0, 0])), p.first(null));
    expect(step.next?.query).toEqual({ limit: '3', from: START, to: at(T0 + 2) });
    const half = p.next(pageOf(records([0, 0, 0])), step.next!);
    expect(half.next?.query.to).toBe(at(T0 + 1));
    expect(() => p.next(pageOf(records([0, 0, 0])), half.next!)).toThrow(FatalError);
  });

  it('keeps the pass end in the position, so a resumed pass ends where it would have', () => {
    let now = NOW;
    const p = windows({}, 3, () => now);
    const api = new FakeListApi(records([1, 2, 3, 4, 5 * DAY]));
    const walk = walkPages(p, p.first(null), (plan) => api.window(plan));
    now = NOW + 100 * DAY;
    const resumed = windows({}, 3, () => now);
    const plan = resumed.resume(walk.positions[0]!);
    const rest = walkPages(resumed, plan, (q) => api.window(q));
    expect(rest.plans.at(-1)?.query.to).toBe(at(NOW));
  });

  it('hands over every record exactly once and resumes at every position like the uninterrupted walk', () => {
    const time = fc.integer({ min: 0, max: 10 * DAY - 1 });
    // Ties (many records at one ms) in offset mode; distinct times when slices split in halves,
    // where has_more tells a 1 ms slice holding exactly a page from one holding more.
    const modes = [
      { times: fc.array(fc.oneof(time, fc.constant(DAY)), { maxLength: 40 }), config: {}, split: false },
      {
        times: fc.uniqueArray(time, { maxLength: 40 }),
        config: { offsetParam: undefined, hasMorePath: 'has_more' },
        split: true,
      },
    ];
    for (const { times: arbitrary, config, split } of modes) {
      fc.assert(
        fc.property(arbitrary, fc.integer({ min: 1, max: 5 }), (times, size) => {
          const api = new FakeListApi(records(times));
          const p = windows(config, size);
          const walk = walkPages(p, p.first(null), (plan) => api.window(plan));
          if (split) {
            // Split slices re-read what the full page already handed over: duplicates, none missing.
            expect(new Set(ids(walk.records))).toEqual(new Set(ids(api.records)));
          } else expect(ids(walk.records)).toEqual(ids(api.records));
          walk.positions.forEach((position, i) => {
            const resumed = windows(config, size);
            const plan = resumed.resume(position);
            expect(plan).toEqual(walk.plans[i]);
            const rest = walkPages(resumed, plan, (q) => api.window(q));
            expect([...walk.records.slice(0, walk.handedAfter[i]), ...rest.records]).toEqual(walk.records);
          });
        }),
      );
    }
  });

  it('validates its config and positions', () => {
    expect(() => windows({ start: 'yesterday' })).toThrow(ConfigError);
    expect(() => windows({ window: 0 })).toThrow(ConfigError);
    expect(() => windows().resume({ from: START, to: START, end: START, offset: 0 })).toThrow(
      /cannot resume/,
    );
    expect(() => windows().first({ param: 'x', cursor: 'cus_1' })).toThrow(FatalError);
  });
});
