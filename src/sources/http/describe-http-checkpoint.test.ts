import { describe, expect, it } from 'vitest';
import { describeHttpCheckpoint } from './describe-http-checkpoint.ts';

const base = { v: 1, position: null, watermark: null, validators: null };

describe('describeHttpCheckpoint', () => {
  it('names the watermark of an incremental stream between passes', () => {
    expect(
      describeHttpCheckpoint({ ...base, watermark: { cursor: '2026-03-01T12:00:00Z', id: 'cus_123' } }),
    ).toBe('watermark 2026-03-01T12:00:00Z / cus_123');
    // Capped by the safety lag: no id.
    expect(describeHttpCheckpoint({ ...base, watermark: { cursor: '2026-03-01T12:00:00Z', id: null } })).toBe(
      'watermark 2026-03-01T12:00:00Z',
    );
  });

  it('names where an unfinished pass continues, for every kind of paginator position', () => {
    expect(describeHttpCheckpoint({ ...base, position: 42 })).toBe('page 42');
    expect(describeHttpCheckpoint({ ...base, position: { offset: 300, tail: ['a'] } })).toBe('offset 300');
    expect(describeHttpCheckpoint({ ...base, position: 'eyJpZCI6ImN1c18wMDAwMDA0MiJ9abc' })).toBe(
      'token …MiJ9abc',
    );
    expect(describeHttpCheckpoint({ ...base, position: 'abc' })).toBe('token abc');
    expect(
      describeHttpCheckpoint({ ...base, position: 'https://api.example.com/v1/people?page=3&per_page=100' }),
    ).toBe('next /v1/people?page=3&per_page=100');
    expect(
      describeHttpCheckpoint({
        ...base,
        position: { cursor: '2024-01-01T00:00:00.000Z', id: 'cus_9', offset: 0, limit: 100 },
        watermark: { cursor: '2024-01-01T00:00:00.000Z', id: 'cus_9' },
      }),
    ).toBe('at 2024-01-01T00:00:00.000Z / cus_9, watermark 2024-01-01T00:00:00.000Z / cus_9');
    expect(
      describeHttpCheckpoint({
        ...base,
        position: { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z', end: 'x', offset: 200 },
      }),
    ).toBe('window 2024-01-01T00:00:00.000Z to 2024-01-02T00:00:00.000Z +200');
  });

  it('says a completed full pass is complete, and adds the deleted-records feed', () => {
    expect(describeHttpCheckpoint(base)).toBe('pass complete');
    expect(
      describeHttpCheckpoint({
        ...base,
        watermark: { cursor: '2026-03-01T12:00:00Z', id: '7' },
        deletes: { position: null, watermark: { cursor: '2026-02-01T00:00:00Z', id: '3' } },
      }),
    ).toBe('watermark 2026-03-01T12:00:00Z / 7, deletes to 2026-02-01T00:00:00Z');
  });

  it('leaves checkpoints of other sources alone', () => {
    expect(describeHttpCheckpoint({ after: 300 })).toBeNull();
    expect(describeHttpCheckpoint(null)).toBeNull();
    expect(describeHttpCheckpoint('x')).toBeNull();
  });
});
