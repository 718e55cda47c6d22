import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { resolveConfig } from './load-config.ts';

async function* source() {}

const streams = [
  { name: 'people', key: 'id', source },
  { name: 'orders', key: 'id', source },
];
const hook = (extra: Record<string, unknown> = {}) => ({
  name: 'hooks',
  type: 'webhook',
  url: 'https://example.com/hook',
  secretEnv: 'HOOK_SECRET',
  ...extra,
});

function message(sinks: unknown[]): string {
  try {
    resolveConfig({ streams, sinks } as never, 'syncline.config.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('sinks in the config', () => {
  it('resolves a webhook sink with its defaults, and every field given', () => {
    const config = resolveConfig({ streams, sinks: [hook()] } as never);
    expect(config.sinks).toEqual([
      {
        name: 'hooks',
        type: 'webhook',
        streams: [],
        kinds: [],
        data: true,
        urls: ['https://example.com/hook'],
        secretEnv: 'HOOK_SECRET',
        batchSize: 1,
        timeoutMs: 10_000,
        retry: { baseMs: 1000, maxMs: 300_000 },
        pauseAfterMs: 900_000,
        rateLimit: null,
        allowPrivateTargets: false,
      },
    ]);
    const full = resolveConfig({
      streams,
      sinks: [
        hook({
          streams: ['orders'],
          kinds: ['insert', 'delete'],
          data: false,
          url: ['https://a.example.com/', 'https://b.example.com/'],
          batchSize: 100,
          timeout: '2s',
          retry: { base: '500ms', max: '1m' },
          pauseAfter: '1h',
          rateLimit: 5,
          allowPrivateTargets: true,
        }),
      ],
    } as never).sinks[0];
    expect(full).toMatchObject({
      streams: ['orders'],
      kinds: ['insert', 'delete'],
      data: false,
      urls: ['https://a.example.com/', 'https://b.example.com/'],
      batchSize: 100,
      timeoutMs: 2000,
      retry: { baseMs: 500, maxMs: 60_000 },
      pauseAfterMs: 3_600_000,
      rateLimit: 5,
      allowPrivateTargets: true,
    });
    expect(resolveConfig({ streams } as never).sinks).toEqual([]);
  });

  it('refuses mistakes in one line naming the file, the sink and the field', () => {
    const at = 'syncline.config.ts: sink "hooks" (sinks[0]): ';
    expect(message([hook({ streams: ['peple'] })])).toBe(
      'syncline.config.ts: sink "hooks": streams: unknown stream "peple"; the config\'s streams are people, orders',
    );
    expect(message([hook(), hook()])).toBe('syncline.config.ts: sink "hooks" is defined twice');
    expect(message([hook({ name: 'Hooks' })])).toMatch(
      /^syncline\.config\.ts: sink "Hooks" \(sinks\[0\]\): name: must be lower-case/,
    );
    expect(message([hook({ batchSize: 1001 })])).toBe(`${at}batchSize: must be at most 1000`);
    expect(message([hook({ kinds: ['upsert'] })])).toBe(
      `${at}kinds.0: must be insert, update, delete or run`,
    );
    expect(message([hook({ url: 'not a url' })])).toMatch(
      new RegExp(`^${at.replace(/[()[\]]/g, '\\$&')}url: `),
    );
    expect(message([hook({ timeout: 'soon' })])).toMatch(/timeout: must be like 500ms/);
    expect(message([hook({ retry: { base: '1m', max: '1s' } })])).toBe(
      'syncline.config.ts: sink "hooks": retry.max: must be at least retry.base (60000 ms); raise max or lower base',
    );
    expect(message([hook({ secret: 'whsec_x' })])).toMatch(
      /^syncline\.config\.ts: sink "hooks" \(sinks\[0\]\): /,
    );
    expect(message([hook({ type: 'kafka' })])).toMatch(/type must be one of: webhook/);
  });

  it('resolves an sse sink with its defaults; a second one, or a runner-only field, is refused in one line', () => {
    const sse = (extra: Record<string, unknown> = {}) => ({ name: 'events', type: 'sse', ...extra });
    expect(resolveConfig({ streams, sinks: [sse()] } as never).sinks).toEqual([
      {
        type: 'sse',
        name: 'events',
        streams: [],
        kinds: [],
        data: true,
        heartbeatMs: 15_000,
        maxBuffered: 1000,
        maxClients: 100,
      },
    ]);
    expect(
      resolveConfig({
        streams,
        sinks: [sse({ streams: ['orders'], data: false, heartbeat: '2s', maxBuffered: 10, maxClients: 3 })],
      } as never).sinks[0],
    ).toMatchObject({ streams: ['orders'], data: false, heartbeatMs: 2000, maxBuffered: 10, maxClients: 3 });
    const twice = message([sse(), sse({ name: 'more' })]);
    expect(twice).toBe(
      'syncline.config.ts: sink "more": only one sse sink is allowed and "events" is one already (GET /v1/events serves it); remove one',
    );
    expect(message([sse({ batchSize: 10 })])).toMatch(/sink "events" \(sinks\[0\]\): .*batchSize/);
    expect(message([sse({ maxBuffered: 0 })])).toMatch(/maxBuffered: /);
    expect(message([sse({ heartbeat: '0s' })])).toMatch(/heartbeat: /);
    expect(message([sse({ streams: ['nope'] })])).toContain('unknown stream "nope"');
  });
});
