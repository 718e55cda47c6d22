import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.ts';
import { ConfigError } from '../core/errors.ts';
import { http } from '../sources/http/index.ts';
import { loadProjectConfig } from './load-project-config.ts';
import { describeSchedule, nextDue } from './schedule.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function yamlConfig(text: string): { file: string; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'syncline-schedule-'));
  dirs.push(cwd);
  const file = join(cwd, 'syncline.config.yaml');
  writeFileSync(file, text);
  return { file, cwd };
}

describe('describeSchedule', () => {
  it('says a schedule in a few words', () => {
    expect(describeSchedule({ kind: 'every', everyMs: 30_000, jitterMs: 0 })).toBe('every 30s');
    expect(describeSchedule({ kind: 'every', everyMs: 30_000, jitterMs: 3_000 })).toBe('every 30s ±3s');
    expect(describeSchedule({ kind: 'every', everyMs: 5_400_000, jitterMs: 250 })).toBe('every 1h30m ±250ms');
    expect(
      describeSchedule({ kind: 'cron', pattern: '0 2 * * *', timezone: 'Europe/Paris', jitterMs: 0 }),
    ).toBe('cron 0 2 * * * (Europe/Paris)');
    expect(describeSchedule({ kind: 'cron', pattern: '*/5 * * * *', timezone: null, jitterMs: 60_000 })).toBe(
      'cron */5 * * * * ±1m',
    );
  });
});

describe('nextDue', () => {
  const at = Date.parse('2025-03-10T10:00:00.000Z');

  it('adds the interval and a share of the jitter to an every schedule', () => {
    const every = { kind: 'every', everyMs: 30_000, jitterMs: 4_000 } as const;
    expect(nextDue(every, at, () => 0)).toBe(at + 30_000);
    expect(nextDue(every, at, () => 0.5)).toBe(at + 32_000);
  });

  it('finds the next cron time after the instant, in the time zone, plus jitter', () => {
    const paris = { kind: 'cron', pattern: '0 2 * * *', timezone: 'Europe/Paris', jitterMs: 0 } as const;
    // 02:00 in Paris is 01:00 UTC in March (before the change to summer time).
    expect(new Date(nextDue(paris, at, () => 0.9)).toISOString()).toBe('2025-03-11T01:00:00.000Z');
    const seconds = { kind: 'cron', pattern: '*/10 * * * * *', timezone: 'UTC', jitterMs: 1000 } as const;
    expect(new Date(nextDue(seconds, at, () => 0.5)).toISOString()).toBe('2025-03-10T10:00:10.500Z');
    // Strictly after: an instant on a cron time gets the next one.
    expect(nextDue(seconds, at + 10_000, () => 0)).toBe(at + 20_000);
  });
});

describe('schedules in a YAML config', () => {
  it('load end to end: a stream schedule, a reconcile schedule and the service default', async () => {
    const { file, cwd } = yamlConfig(`
service:
  schedule: { every: 15m }
  listen: 127.0.0.1:9999
streams:
  - name: people
    key: id
    request: { baseUrl: https://api.example.com, path: /people }
    pagination: { type: link }
    schedule: { cron: "0 */2 * * *", timezone: Europe/Paris }
    reconcile:
      fullRefresh: 7d
      schedule: { cron: "0 3 * * 0" }
  - name: tags
    key: id
    request: { baseUrl: https://api.example.com, path: /tags }
    pagination: { type: link }
`);
    const config = await loadProjectConfig({ file, cwd });
    expect(config.service.listen).toBe('127.0.0.1:9999');
    expect(config.schedules).toEqual([
      {
        stream: 'people',
        sync: { kind: 'cron', pattern: '0 */2 * * *', timezone: 'Europe/Paris', jitterMs: 0 },
        reconcile: { kind: 'cron', pattern: '0 3 * * 0', timezone: null, jitterMs: 0 },
      },
      { stream: 'tags', sync: { kind: 'every', everyMs: 900_000, jitterMs: 5_000 }, reconcile: null },
    ]);
    expect(config.streams[0]?.reconcile?.fullRefresh).toBe('7d');
  });

  it('refuses a bad cron pattern with the file, stream and field', async () => {
    const { file, cwd } = yamlConfig(`
streams:
  - name: people
    key: id
    request: { baseUrl: https://api.example.com, path: /people }
    pagination: { type: link }
    schedule: { cron: "0 25 * * *" }
`);
    await expect(loadProjectConfig({ file, cwd })).rejects.toThrow(
      new ConfigError(
        'syncline.config.yaml: stream "people" (streams[0]): schedule.cron: invalid cron pattern "0 25 * * *": ' +
          'Invalid value for hour: 25 (5 fields: minute hour day month weekday, or 6 with seconds first)',
      ),
    );
  });

  it('takes a schedule on http.stream in code', () => {
    const stream = http.stream({
      name: 'people',
      key: 'id',
      request: { baseUrl: 'https://api.example.com', path: '/people' },
      pagination: { type: 'link' },
      schedule: { every: '1m' },
    });
    expect(resolveConfig({ streams: [stream] }).schedules[0]?.sync).toEqual({
      kind: 'every',
      everyMs: 60_000,
      jitterMs: 5_000,
    });
  });
});
