import { Validator } from '@seriousme/openapi-schema-validator';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/types.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import type { MetricsHandle, ServiceControl } from '../../src/runtime/service-types.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { isDashboardPath } from '../../src/server/dashboard/dashboard-app.ts';
import { openApiPath } from '../../src/server/openapi.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { serviceConfig, syncPeople } from '../helpers/service-fixture.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const TOKEN = 's3cret-token-value';

interface ErrorBody {
  error: { code: string; message: string };
}

/** A logger that keeps every line it is given, as JSON text, to look for what must not be there. */
function capturingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (obj: object | string, msg?: string) => lines.push(JSON.stringify([obj, msg]));
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

describe('the HTTP API (app.request, SQLite)', () => {
  let t: TestStore;
  let scheduler: FakeScheduler;
  let control: ServiceControl;
  let log: ReturnType<typeof capturingLog>;

  function app(
    options: { token?: string | null; bodyLimitBytes?: number; requestTimeoutMs?: number } = {},
    over: Partial<ServiceControl> = {},
  ): Hono {
    return createApiApp({ ...control, ...over }, { token: null, log, ...options });
  }

  function withMetrics(metrics: MetricsHandle): ServiceControl {
    return createServiceControl({ store: t.store, config: serviceConfig(), scheduler, metrics });
  }

  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    scheduler = new FakeScheduler(['people', 'orders']);
    control = withMetrics(fakeMetrics());
    log = capturingLog();
    await syncPeople(t.store);
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('answers health, readiness and metrics', async () => {
    const api = app();
    expect(await (await api.request('/healthz')).json()).toEqual({ ok: true });
    const ready = await api.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { store: 'ok', scheduler: 'ok' } });
    scheduler.running = false;
    const notReady = await api.request('/readyz');
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, checks: { scheduler: 'not running' } });
    const metrics = await api.request('/metrics');
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await metrics.text()).toContain('syncline_up 1');
  });

  it('lists streams, runs and dead letters', async () => {
    const api = app();
    const streams = await (await api.request('/v1/streams')).json();
    expect(streams).toEqual([
      expect.objectContaining({ stream: 'orders', records: 0 }),
      expect.objectContaining({ stream: 'people', records: 2, failedRecords: 1, state: 'idle' }),
    ]);
    const runs = await api.request('/v1/streams/people/runs?limit=1');
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual([expect.objectContaining({ stream: 'people', status: 'ok' })]);
    const failed = await (await api.request('/v1/failed?stream=people&limit=5&all=true')).json();
    expect(failed).toEqual([expect.objectContaining({ stream: 'people', key: '2', status: 'open' })]);
    expect(await (await api.request('/v1/failed')).json()).toHaveLength(1);
  });

  it('triggers, approves, resets and replays', async () => {
    const api = app();
    const sync = await api.request('/v1/streams/people/sync', { method: 'POST' });
    expect(sync.status).toBe(202);
    expect(await sync.json()).toEqual({ state: 'queued', stream: 'people', mode: 'sync' });
    const reconcile = await api.request('/v1/streams/people/reconcile', { method: 'POST' });
    expect(await reconcile.json()).toMatchObject({ mode: 'reconcile' });
    const approve = await api.request('/v1/streams/people/approve', { method: 'POST' });
    expect(await approve.json()).toEqual({
      approved: false,
      message: 'stream "people" is not paused; nothing to approve',
    });
    const reset = await api.request('/v1/streams/people/reset', { method: 'POST' });
    expect(reset.status).toBe(200);
    expect((await t.store.getState('people'))?.checkpoint).toBeNull();
    const [letter] = await t.store.listDeadLetters({ limit: 1 });
    const replay = await api.request('/v1/failed/replay', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: [letter!.id] }),
    });
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ queued: [{ state: 'queued', stream: 'people', mode: 'replay' }] });
    const all = await api.request('/v1/failed/replay', { method: 'POST' });
    expect(all.status).toBe(202);
    expect(scheduler.triggered.map((r) => r.request)).toEqual([
      { mode: 'sync' },
      { mode: 'reconcile' },
      { mode: 'replay', letters: [letter!.id] },
      { mode: 'replay' },
    ]);
    expect(scheduler.resumed).toEqual(['people']);
  });

  it('ignores open dead letters by id or by stream, and asks which when given neither', async () => {
    const api = app();
    const [letter] = await t.store.listDeadLetters({ limit: 1 });
    const post = (body: string) =>
      api.request('/v1/failed/ignore', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const byId = await post(JSON.stringify({ ids: [letter!.id] }));
    expect(byId.status).toBe(200);
    expect(await byId.json()).toEqual({ ignored: 1, message: 'ignored 1 open dead letter' });
    expect(await t.store.listDeadLetters({ limit: 5 })).toEqual([]);
    expect(await t.store.listDeadLetters({ limit: 5, all: true })).toEqual([
      expect.objectContaining({ id: letter!.id, status: 'ignored' }),
    ]);
    const byStream = await post('{"stream":"people"}');
    expect(await byStream.json()).toEqual({ ignored: 0, message: 'ignored 0 open dead letters of "people"' });
    const neither = await post('{}');
    expect(neither.status).toBe(400);
    expect(((await neither.json()) as ErrorBody).error.message).toMatch(/needs a stream or ids/);
    expect((await post('{"stream":"nope"}')).status).toBe(404);
  });

  it('answers bad input 400, unknown streams and routes 404, in one line of JSON', async () => {
    const api = app();
    const cases: [string, RequestInit | undefined, number, string][] = [
      ['/v1/streams/people/runs?limit=0', undefined, 400, 'limit: must be a whole number from 1 to 500'],
      ['/v1/streams/people/runs?limit=501', undefined, 400, 'limit: must be a whole number from 1 to 500'],
      ['/v1/streams/people/runs?limit=x', undefined, 400, 'limit: must be a whole number from 1 to 500'],
      ['/v1/streams/people/runs?lmit=5', undefined, 400, 'query: unknown field "lmit"'],
      ['/v1/failed?all=maybe', undefined, 400, 'all: must be true or false'],
      [
        '/v1/failed/replay',
        { method: 'POST', body: '{"ids":[1.5]}' },
        400,
        'ids.0: must be a dead letter id (a positive integer)',
      ],
      [
        '/v1/failed/replay',
        { method: 'POST', body: '{"ids":' },
        400,
        'body: is not JSON; send a JSON object',
      ],
      ['/v1/failed/replay', { method: 'POST', body: '{"stream":"nope"}' }, 404, 'unknown stream "nope"'],
      ['/v1/streams/nope/runs', undefined, 404, 'unknown stream "nope"'],
      ['/v1/streams/nope/sync', { method: 'POST' }, 404, 'unknown stream "nope"'],
      ['/v1/streams/nope/reset', { method: 'POST' }, 404, 'unknown stream "nope"'],
      ['/v1/nothing', undefined, 404, 'no route GET /v1/nothing; see /v1/openapi.json'],
    ];
    for (const [path, init, status, message] of cases) {
      const response = await api.request(path, init);
      const body = (await response.json()) as ErrorBody;
      expect({ path, status: response.status }).toEqual({ path, status });
      expect(body.error.message).toContain(message);
      expect(body.error.message).not.toContain('\n');
    }
  });

  it('answers 500 without the internals, and logs what failed', async () => {
    control = withMetrics({
      async render() {
        throw new Error('connect ECONNREFUSED /var/run/secret.sock');
      },
    });
    const response = await app().request('/metrics');
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: { code: 'internal', message: 'internal error; the service log has the details' },
    });
    expect(text).not.toMatch(/ECONNREFUSED|at |secret/);
    expect(log.lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true);
  });

  it('requires the bearer token on every route but the health checks, compared whole', async () => {
    const api = app({ token: TOKEN });
    const auth = (value: string) => ({ headers: { authorization: value } });
    const paths = ['/v1/streams', '/metrics', '/v1/openapi.json', '/v1/failed'];
    for (const path of paths) {
      for (const init of [
        undefined,
        auth(`Bearer ${TOKEN.slice(0, -1)}x`), // same length, wrong
        auth(`Bearer ${TOKEN}x`), // longer
        auth('Bearer s3'), // a prefix
        auth(TOKEN), // no scheme
        auth(`Basic ${TOKEN}`),
      ]) {
        const response = await api.request(path, init);
        expect({ path, init, status: response.status }).toEqual({ path, init, status: 401 });
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(((await response.json()) as ErrorBody).error.code).toBe('unauthorized');
      }
      expect((await api.request(path, auth(`Bearer ${TOKEN}`))).status).toBe(200);
      expect((await api.request(path, auth(`bearer ${TOKEN}`))).status).toBe(200);
    }
    const post = await api.request('/v1/streams/people/sync', { method: 'POST' });
    expect(post.status).toBe(401);
    expect(scheduler.triggered).toEqual([]);
    expect((await api.request('/healthz')).status).toBe(200);
    expect((await api.request('/readyz')).status).toBe(200);

    // One line per request, without headers: never the token.
    expect(log.lines.length).toBeGreaterThan(paths.length * 8);
    expect(log.lines.join('\n')).not.toContain(TOKEN);
    expect(log.lines.join('\n')).not.toContain('s3cret');
    expect(JSON.parse(log.lines[0]!)).toEqual([
      { method: 'GET', path: '/v1/streams', status: 401, ms: expect.any(Number) },
      'request',
    ]);
  });

  it('refuses a body over the limit with 413, with or without a length', async () => {
    const api = app({ bodyLimitBytes: 64 });
    const big = JSON.stringify({ stream: 'people', ids: Array.from({ length: 40 }, (_, i) => i + 1) });
    const sized = await api.request('/v1/failed/replay', { method: 'POST', body: big });
    expect(sized.status).toBe(413);
    expect(((await sized.json()) as ErrorBody).error).toEqual({
      code: 'payload_too_large',
      message: 'the request body is larger than 64 bytes',
    });
    const chunked = await api.request('/v1/failed/replay', {
      method: 'POST',
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(scheduler.triggered).toEqual([]);
  });

  it('answers 504 when a request takes longer than its timeout', async () => {
    const api = app({ requestTimeoutMs: 100 }, { streams: () => new Promise(() => {}) });
    const started = Date.now();
    const response = await api.request('/v1/streams');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      error: {
        code: 'timeout',
        message: 'the request took longer than 100 ms; the service may be busy: try again',
      },
    });
  });

  it('records each action it did in the action log, and lists them with GET /v1/actions', async () => {
    const api = app();
    await api.request('/v1/streams/people/sync', { method: 'POST' });
    await api.request('/v1/streams/people/approve', { method: 'POST' });
    await api.request('/v1/streams/people/reset', { method: 'POST' });
    await api.request('/v1/failed/replay', { method: 'POST' });
    await api.request('/v1/streams/orders/reconcile', { method: 'POST' });
    // Refused actions record nothing.
    expect((await api.request('/v1/streams/nope/sync', { method: 'POST' })).status).toBe(404);

    const all = (await (await api.request('/v1/actions')).json()) as Array<Record<string, unknown>>;
    expect(all.map((a) => [a['stream'], a['action'], a['origin']])).toEqual([
      ['orders', 'reconcile', 'api'],
      ['people', 'replay', 'api'],
      ['people', 'reset', 'api'],
      ['people', 'approve', 'api'],
      ['people', 'sync', 'api'],
    ]);
    expect(all.at(-1)).toEqual({
      id: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      stream: 'people',
      target: null,
      action: 'sync',
      origin: 'api',
      detail: 'queued a sync of "people"',
    });
    expect(all[2]!['detail']).toMatch(/^reset "people": its next run starts from the beginning/);

    const people = (await (await api.request('/v1/actions?stream=people&limit=2')).json()) as unknown[];
    expect(people).toEqual([
      expect.objectContaining({ action: 'replay' }),
      expect.objectContaining({ action: 'reset' }),
    ]);
    expect((await api.request('/v1/actions?stream=nope')).status).toBe(404);
    expect((await api.request('/v1/actions?limit=0')).status).toBe(400);

    // The dashboard's door is named as such.
    await control.trigger('people', 'sync', 'dashboard');
    expect((await t.store.listActions({ limit: 1 }))[0]).toMatchObject({
      origin: 'dashboard',
      action: 'sync',
    });
  });

  it('does the action even when the action log cannot record it, and warns', async () => {
    const warnings: string[] = [];
    const failing = createServiceControl({
      store: Object.assign(Object.create(t.store) as typeof t.store, {
        recordAction: () => Promise.reject(new Error('disk full')),
      }),
      config: serviceConfig(),
      scheduler,
      metrics: fakeMetrics(),
      log: { warn: (obj: object | string) => warnings.push(JSON.stringify(obj)) },
    });
    expect(await failing.trigger('people', 'sync')).toEqual({
      state: 'queued',
      stream: 'people',
      mode: 'sync',
    });
    expect(scheduler.triggered).toHaveLength(1);
    expect(warnings.join()).toContain('disk full');
  });

  it('serves a valid OpenAPI 3.1 document that has every route the app serves, and only those', async () => {
    const api = app({ token: TOKEN });
    const response = await api.request('/v1/openapi.json', { headers: { authorization: `Bearer ${TOKEN}` } });
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });

    // The dashboard's pages (`/`, `/ui/...`) are HTML for people, not part of the API.
    const served = api.routes
      .filter((r) => r.method !== 'ALL' && !isDashboardPath(r.path))
      .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`))
      .sort();
    expect(documented).toEqual(served);
    expect(served).toHaveLength(20);
    expect(doc.paths['/healthz']?.['get']?.security).toEqual([]);
    expect(doc.paths['/v1/streams/{name}/runs']?.['get']).toMatchObject({
      parameters: [
        { name: 'name', in: 'path', required: true },
        {
          name: 'limit',
          in: 'query',
          required: false,
          schema: { type: 'integer', maximum: 500, default: 20 },
        },
      ],
    });
  });
});
