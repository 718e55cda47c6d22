import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { defineStream } from '../core/stream-definition.ts';
import { validateConfig } from './config-schema.ts';
import { resolveConfig } from './load-config.ts';

async function* source() {}

function people(extra: Record<string, unknown> = {}) {
  return { name: 'people', key: 'id', source, ...extra };
}

function message(config: unknown): string {
  try {
    validateConfig(config, 'syncline.config.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('validateConfig', () => {
  it('rejects an unknown key in a defineStream stream, naming it and the closest valid key', () => {
    // A cast, as a plain .js config or a spread object would pass it: the type checker is no help there.
    const stream = defineStream({
      name: 'people',
      key: 'id',
      source,
      ...({ cursr: 'updated_at' } as object),
    });
    expect(message({ streams: [stream] })).toBe(
      'syncline.config.ts: stream "people" (streams[0]): cursr: unknown key; did you mean "cursor"?',
    );
    expect(message({ streams: [people({ histroy: true })] })).toBe(
      'syncline.config.ts: stream "people" (streams[0]): histroy: unknown key; did you mean "history"?',
    );
  });

  it('rejects unknown keys at the top level, in sync, sync.retry and nested stream settings', () => {
    expect(message({ stor: 'wanted.db', streams: [people()] })).toBe(
      'syncline.config.ts: stor: unknown key; did you mean "store"?',
    );
    expect(message({ streams: [people()], sync: { concurency: 2 } })).toBe(
      'syncline.config.ts: sync.concurency: unknown key; did you mean "concurrency"?',
    );
    expect(message({ streams: [people()], sync: { retry: { maxAttempt: 3 } } })).toBe(
      'syncline.config.ts: sync.retry.maxAttempt: unknown key; did you mean "maxAttempts"?',
    );
    expect(message({ streams: [people({ backfill: { maxage: '1d' } })] })).toBe(
      'syncline.config.ts: stream "people" (streams[0]): backfill.maxage: unknown key; did you mean "maxAge"?',
    );
    expect(message({ streams: [people({ reconcile: { maxDeletes: 0.2 } })] })).toMatch(
      /^syncline\.config\.ts: stream "people" \(streams\[0\]\): reconcile\.maxDeletes: unknown key; /,
    );
  });

  it('lists the valid keys when no key is close to the unknown one', () => {
    expect(message({ streams: [people()], colour: 'blue' })).toBe(
      'syncline.config.ts: colour: unknown key; valid keys: store, streams, sync, changes, service, sinks, destinations',
    );
  });

  it('reports an unknown key before the required key it probably misspells', () => {
    expect(message({ streams: [{ nme: 'people', key: 'id', source }] })).toBe(
      'syncline.config.ts: stream (streams[0]): nme: unknown key; did you mean "name"?',
    );
  });

  it('accepts every field of a stream definition, fetchByKey included', () => {
    const config = {
      store: 'x.db',
      streams: [
        people({
          cursor: 'updated_at',
          version: 'version',
          deleted: 'deleted',
          fetchByKey: source,
          hash: { exclude: ['fetched_at'] },
          onVersionRegression: 'accept',
          history: true,
          backfill: { mode: 'auto', maxAge: '30d', volumeFactor: 5, minBaseline: 10 },
          reconcile: { maxDeleteShare: 0.2, fullRefresh: '1d' },
        }),
      ],
      sync: {
        maxPagesInFlight: 2,
        concurrency: 2,
        leaseTtlMs: 10_000,
        maxRunDurationMs: 60_000,
        retry: { maxAttempts: 3, budget: 10, baseDelayMs: 10, maxDelayMs: 100, minDelayMs: 5 },
      },
    };
    expect(validateConfig(config, 'syncline.config.ts')).toBe(config);
  });
});

describe('changes.retention', () => {
  it('resolves to 7 days by default, or the duration given, and refuses one that is not a duration', () => {
    expect(resolveConfig({ streams: [people()] }).changes).toEqual({ retentionMs: 7 * 86_400_000 });
    expect(resolveConfig({ streams: [people()], changes: { retention: '36h' } }).changes).toEqual({
      retentionMs: 36 * 3_600_000,
    });
    expect(resolveConfig({ streams: [people()], changes: { retention: 0 } }).changes.retentionMs).toBe(0);
    expect(message({ streams: [people()], changes: { retention: 'a week' } })).toBe(
      'syncline.config.ts: changes.retention: must be like 500ms, 90s, 15m, 1h or 7d',
    );
    expect(message({ streams: [people()], changes: { retension: '7d' } })).toBe(
      'syncline.config.ts: changes.retension: unknown key; did you mean "retention"?',
    );
  });
});
