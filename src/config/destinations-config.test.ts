import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { resolveConfig } from './load-config.ts';

async function* source() {}

const streams = [
  { name: 'people', key: 'id', source },
  { name: 'orders', key: 'id', source },
];
const crm = (extra: Record<string, unknown> = {}) => ({
  name: 'crm',
  type: 'http',
  streams: ['people'],
  baseUrl: 'https://api.crm.example.com/v1',
  map: { email: 'email', name: { template: '{first} {last}' }, source: { const: 'syncline' } },
  create: { path: '/contacts' },
  update: { path: '/contacts/{externalId}' },
  ...extra,
});

function message(destinations: unknown[], sinks: unknown[] = []): string {
  try {
    resolveConfig({ streams, destinations, sinks } as never, 'syncline.config.ts');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('destinations in the config', () => {
  it('resolves a destination with its defaults', () => {
    const [resolved] = resolveConfig({ streams, destinations: [crm()] } as never).destinations;
    expect(resolved).toEqual({
      type: 'http',
      name: 'crm',
      streams: ['people'],
      baseUrl: 'https://api.crm.example.com/v1',
      headers: {},
      tokenEnv: null,
      map: crm().map,
      operations: { create: { path: '/contacts' }, update: { path: '/contacts/{externalId}' } },
      mode: 'upsert',
      idempotencyHeader: 'Idempotency-Key',
      batchSize: 50,
      concurrency: 4,
      rateLimit: null,
      timeoutMs: 30_000,
      retry: { baseMs: 1000, maxMs: 300_000 },
      pauseAfterMs: 900_000,
      allowPrivateTargets: false,
    });
    expect(resolveConfig({ streams } as never).destinations).toEqual([]);
  });

  it('refuses mistakes in one line naming the file, the destination and the field', () => {
    const at = 'syncline.config.ts: destination "crm" (destinations[0]): ';
    expect(message([crm({ streams: ['peple'] })])).toBe(
      'syncline.config.ts: destination "crm": streams: unknown stream "peple"; the config\'s streams are people, orders',
    );
    expect(message([crm(), crm()])).toBe('syncline.config.ts: destination "crm" is defined twice');
    expect(message([crm({ mode: 'mirror' })])).toBe(
      `${at}delete: mode mirror deletes objects: add delete: { path }`,
    );
    expect(message([crm({ update: undefined })])).toBe(
      `${at}update: add update: { path } (with {externalId}) to change the objects it made, or set mode: create-only`,
    );
    expect(message([crm({ type: 'grpc' })])).toBe(
      `${at}type: must be http or custom (custom: a TypeScript config)`,
    );
    expect(message([crm({ map: 3 })])).toMatch(new RegExp(`^${at.replace(/[()[\]]/g, '\\$&')}map: `));
    expect(message([crm({ tokenEnv: 'not a name' })])).toMatch(/tokenEnv: must name an environment variable/);
    expect(message([crm({ baseUrl: 'nope' })])).toBe(`${at}baseUrl: must be a URL`);
    expect(message([crm()], [{ name: 'crm', type: 'redis', url: 'redis://127.0.0.1:6379' }])).toBe(
      'syncline.config.ts: destination "crm": a sink has that name too; give it another (status, resume and metrics name them alike)',
    );
  });

  it('takes a bulk upsert endpoint, and refuses it beside a mode it cannot keep', () => {
    const batch = { path: '/contacts/batch', maxSize: 100 };
    const [resolved] = resolveConfig({
      streams,
      destinations: [crm({ create: undefined, update: undefined, batch })],
    } as never).destinations;
    expect(resolved).toMatchObject({ type: 'http', operations: { batch } });
    const at = 'syncline.config.ts: destination "crm" (destinations[0]): ';
    expect(message([crm({ batch, mode: 'update-only' })])).toBe(
      `${at}mode: a bulk upsert endpoint creates and updates alike: use mode upsert or mirror with it`,
    );
    expect(message([crm({ create: undefined })])).toBe(
      `${at}create: add create: { path } to make objects (or batch: { path } for a bulk upsert endpoint)`,
    );
    expect(message([crm({ batch: { path: '/b', maxSize: 5000 } })])).toBe(
      `${at}batch.maxSize: must be at most 1000`,
    );
  });

  it('takes a custom destination (an object with write) and refuses one without write', () => {
    const destination = { write: async () => [] };
    const [resolved] = resolveConfig({
      streams,
      destinations: [{ name: 'erp', type: 'custom', streams: ['orders'], destination }],
    } as never).destinations;
    expect(resolved).toEqual({
      type: 'custom',
      name: 'erp',
      streams: ['orders'],
      destination,
      map: null,
      mode: 'upsert',
      batchSize: 50,
      retry: { baseMs: 1000, maxMs: 300_000 },
      pauseAfterMs: 900_000,
    });
    expect(
      message([{ name: 'erp', type: 'custom', streams: ['orders'], destination: { send: () => null } }]),
    ).toBe(
      'syncline.config.ts: destination "erp" (destinations[0]): destination: must be an object with a write(batch, ctx) method (a TypeScript config)',
    );
  });
});
