import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { validateConfig } from './config-schema.ts';
import { resolveConfig } from './load-config.ts';

async function* source() {}

function people(extra: Record<string, unknown> = {}) {
  return { name: 'people', key: 'id', source, ...extra };
}

function message(config: unknown): string {
  try {
    resolveConfig(config as never, 'syncline.config.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

const AT = 'syncline.config.ts: stream "people" (streams[0]): ';

describe('schedules in the config', () => {
  it('accepts every and cron schedules on streams, on reconcile and as the service default', () => {
    const config = {
      streams: [
        people({ schedule: { every: '30s', jitter: '2s' }, reconcile: { schedule: { cron: '0 3 * * 0' } } }),
        people({ name: 'orders', schedule: { cron: '*/10 * * * * *', timezone: 'Europe/Paris' } }),
        people({ name: 'tags', schedule: { every: 60_000 }, reconcile: { fullRefresh: '1d' } }),
      ],
      service: {
        schedule: { every: '15m' },
        listen: '0.0.0.0:8080',
        shutdownTimeout: '10s',
        backoff: { base: '1s', max: '5m' },
      },
    };
    expect(() => validateConfig(config, 'syncline.config.ts')).not.toThrow();
  });

  it('refuses a bad cron pattern, an unknown time zone, an every of 0 and unknown keys, naming the field', () => {
    expect(message({ streams: [people({ schedule: { cron: '61 * * * *' } })] })).toBe(
      `${AT}schedule.cron: invalid cron pattern "61 * * * *": Invalid value for minute: 61 ` +
        '(5 fields: minute hour day month weekday, or 6 with seconds first)',
    );
    expect(message({ streams: [people({ schedule: { cron: 'daily' } })] })).toMatch(
      /^syncline\.config\.ts: stream "people" \(streams\[0\]\): schedule\.cron: invalid cron pattern "daily": /,
    );
    // A 7th (year) field: other cron tools refuse it, so we do too.
    expect(message({ streams: [people({ schedule: { cron: '0 0 2 * * * 2030' } })] })).toMatch(
      /schedule\.cron: invalid cron pattern/,
    );
    expect(message({ streams: [people({ schedule: { cron: '0 2 * * *', timezone: 'Mars/Base' } })] })).toBe(
      `${AT}schedule.timezone: unknown time zone: use an IANA name such as "Europe/Paris", "America/New_York" or "UTC"`,
    );
    expect(message({ streams: [people({ schedule: { every: 0 } })] })).toBe(
      `${AT}schedule.every: must be more than 0`,
    );
    expect(message({ streams: [people({ schedule: { every: '0s' } })] })).toBe(
      `${AT}schedule.every: must be more than 0`,
    );
    expect(message({ streams: [people({ schedule: { every: 'often' } })] })).toBe(
      `${AT}schedule.every: must be like 500ms, 90s, 15m, 1h or 7d`,
    );
    expect(message({ streams: [people({ schedule: { evry: '1m' } })] })).toBe(
      `${AT}schedule.evry: unknown key; did you mean "every"?`,
    );
    expect(message({ streams: [people({ schedule: { every: '1m', cron: '* * * * *' } })] })).toBe(
      `${AT}schedule: give either every or cron, not both`,
    );
    expect(message({ streams: [people({ schedule: { jitter: '1s' } })] })).toBe(
      `${AT}schedule: needs every (e.g. '15m') or cron (e.g. '0 2 * * *')`,
    );
    expect(message({ streams: [people({ schedule: '15m' })] })).toBe(
      `${AT}schedule: must be { every: '<duration>' } or { cron: '<pattern>' }`,
    );
    expect(
      message({ streams: [people({ reconcile: { schedule: { cron: '0 3 * * *', timzone: 'UTC' } } })] }),
    ).toBe(`${AT}reconcile.schedule.timzone: unknown key; did you mean "timezone"?`);
  });

  it('refuses bad service settings', () => {
    expect(message({ streams: [people()], service: { schedule: { every: 0 } } })).toBe(
      'syncline.config.ts: service.schedule.every: must be more than 0',
    );
    expect(message({ streams: [people()], service: { listen: '7373' } })).toBe(
      'syncline.config.ts: service.listen: must be host:port, e.g. 127.0.0.1:7373 or 0.0.0.0:8080',
    );
    expect(message({ streams: [people()], service: { backof: {} } })).toBe(
      'syncline.config.ts: service.backof: unknown key; did you mean "backoff"?',
    );
    expect(message({ streams: [people()], service: { backoff: { base: '1m', max: '10s' } } })).toBe(
      'syncline.config.ts: service.backoff.max: must be at least service.backoff.base (60000 ms); raise max or lower base',
    );
  });
});

describe('resolving schedules', () => {
  it('applies the service default to streams without a schedule, and jitter defaults', () => {
    const config = resolveConfig({
      streams: [
        people({ schedule: { every: '30s' } }),
        people({ name: 'daily', schedule: { every: '1d' }, reconcile: { schedule: { cron: '0 3 * * 0' } } }),
        people({ name: 'nightly', schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' } }),
        people({ name: 'tags' }),
        people({ name: 'jittery', schedule: { every: 1000, jitter: '0ms' } }),
      ],
      service: { schedule: { every: '15m', jitter: '1m' } },
    });
    expect(config.schedules).toEqual([
      { stream: 'people', sync: { kind: 'every', everyMs: 30_000, jitterMs: 3_000 }, reconcile: null },
      {
        stream: 'daily',
        sync: { kind: 'every', everyMs: 86_400_000, jitterMs: 5_000 },
        reconcile: { kind: 'cron', pattern: '0 3 * * 0', timezone: null, jitterMs: 0 },
      },
      {
        stream: 'nightly',
        sync: { kind: 'cron', pattern: '0 2 * * *', timezone: 'Europe/Paris', jitterMs: 0 },
        reconcile: null,
      },
      { stream: 'tags', sync: { kind: 'every', everyMs: 900_000, jitterMs: 60_000 }, reconcile: null },
      { stream: 'jittery', sync: { kind: 'every', everyMs: 1000, jitterMs: 0 }, reconcile: null },
    ]);
  });

  it('leaves streams unscheduled without a default, and fills in the service defaults', () => {
    const config = resolveConfig({ streams: [people()] });
    expect(config.schedules).toEqual([{ stream: 'people', sync: null, reconcile: null }]);
    expect(config.service).toEqual({
      listen: '127.0.0.1:7373',
      shutdownTimeoutMs: 30_000,
      workerTimeoutMs: 30_000,
      backoff: { baseMs: 5_000, maxMs: 900_000 },
    });
    const custom = resolveConfig({
      streams: [people()],
      service: {
        listen: '[::1]:9000',
        shutdownTimeout: 5000,
        workerTimeout: '10s',
        backoff: { base: '2s', max: '1h' },
      },
    });
    expect(custom.service).toEqual({
      listen: '[::1]:9000',
      shutdownTimeoutMs: 5_000,
      workerTimeoutMs: 10_000,
      backoff: { baseMs: 2_000, maxMs: 3_600_000 },
    });
  });
});
