import type { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { SinkStatus } from '../../src/core/sink.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import type { ServiceControl, SinkView } from '../../src/runtime/service-types.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { deliveryRate, sinkLag } from '../../src/server/dashboard/sinks-page.ts';
import { workersFragment } from '../../src/server/dashboard/workers-page.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { csrfOf, logIn } from './dashboard-session.ts';

const TOKEN = 'dash-sinks-t0ken';
const SECRET_ENV = 'DASH_SINKS_TEST_SECRET';

/**
 * The sinks and destinations page and the workers page over HTTP (SQLite): what they show of the
 * config's sinks, stopped or as a running service reports them, their actions and the CSRF check,
 * and the workers page's word on a store of one machine.
 */
describe('the sinks and workers pages', () => {
  let t: TestStore | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
    delete process.env[SECRET_ENV];
  });

  /** A store with customers synced and a config with webhook sinks; `running` stands in for started sinks. */
  async function world(
    sinks: { name: string }[],
    running: { status: SinkStatus[]; resumed: (string | undefined)[] } | null = null,
  ) {
    t = await makeTestStore('sqlite');
    process.env[SECRET_ENV] = 'whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=';
    const customers: AnyStreamDefinition = {
      name: 'customers',
      key: 'id',
      source: async function* () {
        yield { records: [{ id: 1 }, { id: 2 }, { id: 3 }], checkpoint: null };
      },
    };
    const config = resolveConfig({
      streams: [customers],
      sinks: sinks.map((s) => ({
        name: s.name,
        type: 'webhook',
        url: 'https://hooks.example.com/syncline',
        secretEnv: SECRET_ENV,
      })),
    } as never);
    const control = createServiceControl({
      store: t.store,
      config,
      scheduler: new FakeScheduler(['customers']),
      metrics: fakeMetrics(),
      ...(running
        ? {
            sinks: () => ({
              status: () => running.status,
              resume: (name?: string) => running.resumed.push(name),
            }),
          }
        : {}),
    });
    const app = createApiApp(control, { token: TOKEN, log: SILENT_LOGGER });
    await runStream({
      store: t.store,
      stream: customers,
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: SILENT_LOGGER,
    });
    return { app, store: t.store };
  }

  async function session(app: Hono, path: string) {
    const { cookie } = await logIn(app, TOKEN);
    const page = await app.request(path, { headers: { cookie } });
    expect(page.status).toBe(200);
    const body = await page.text();
    const csrf = csrfOf(body);
    const get = async (p: string) => (await app.request(p, { headers: { cookie } })).text();
    const post = (p: string, headers: Record<string, string> = {}) =>
      app.request(p, {
        method: 'POST',
        headers: { cookie, host: 'localhost', origin: 'http://localhost', 'x-csrf-token': csrf, ...headers },
      });
    return { body, get, post };
  }

  it('lists the configured sinks as stopped before the service starts them, with their lag and actions', async () => {
    const { app, store } = await world([{ name: 'crm' }]);
    const highest = (await store.changeLogBounds()).highestSeq;
    expect(highest).toBeGreaterThan(0);
    const { body, post } = await session(app, '/ui/sinks');
    expect(body).toContain('hx-get="/ui/fragments/sinks" hx-trigger="sse:sinks" hx-swap="outerHTML"');
    expect(body).toContain('<tr data-sink="crm">');
    expect(body).toContain('badge-stopped');
    expect(body).toMatch(new RegExp(`<td class="num" data-lag>${highest}</td>`));
    expect(body).toContain('hx-post="/ui/sinks/crm/replay"');
    expect(body).not.toContain('hx-post="/ui/sinks/crm/resume"');
    expect(body).not.toContain('whsec_');
    const replay = await post('/ui/sinks/crm/replay');
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('Sink &quot;crm&quot; has no open dead letters to redeliver.');
    const resume = await post('/ui/sinks/crm/resume');
    expect(await resume.text()).toContain('Sink &quot;crm&quot; is not paused; nothing to resume.');
    const unknown = await post('/ui/sinks/nope/resume');
    expect(await unknown.text()).toContain('class="message error"');
  });

  it('shows a paused sink with its last error escaped, resumes it, and refuses actions without the CSRF token', async () => {
    const running = {
      status: [
        {
          name: 'crm',
          state: 'paused' as const,
          offset: 1,
          lastError: 'HTTP 500 from <script>alert(1)</script>',
          failingSince: new Date(Date.now() - 600_000).toISOString(),
        },
      ],
      resumed: [] as (string | undefined)[],
    };
    const { app } = await world([{ name: 'crm' }], running);
    const { body, post } = await session(app, '/ui/sinks');
    expect(body).toContain('badge-paused');
    expect(body).toContain('HTTP 500 from &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toContain('<script>alert(1)');
    expect(body).toContain('10 min ago');
    expect(body).toContain('hx-post="/ui/sinks/crm/resume"');
    for (const path of ['/ui/sinks/crm/resume', '/ui/sinks/crm/replay']) {
      const refused = await post(path, { 'x-csrf-token': '' });
      expect(refused.status).toBe(403);
    }
    expect(running.resumed).toEqual([]);
    const resume = await post('/ui/sinks/crm/resume');
    expect(await resume.text()).toContain('Resumed sink &quot;crm&quot;: it delivers again from offset 1.');
    expect(running.resumed).toEqual(['crm']);
  });

  it('says how to add sinks when there are none', async () => {
    const { app } = await world([]);
    const { body } = await session(app, '/ui/sinks');
    expect(body).toContain('This config has no sinks or destinations.');
    expect(body).toContain('<code>sinks:</code>');
  });

  it('computes lag and a destination delivery rate', () => {
    expect(sinkLag(120, 100)).toBe(20);
    expect(sinkLag(5, 9)).toBe(0);
    const destination: SinkView = {
      name: 'warehouse',
      kind: 'destination',
      state: 'running',
      offset: 0,
      lastError: null,
      failingSince: null,
      writes: { ok: 600, unchanged: 0, skipped: 0, retry: 0, fail: 0 },
      errorRate: 0,
    };
    expect(deliveryRate(destination, 0, 10 * 60_000)).toBe(60);
    expect(deliveryRate({ ...destination, kind: 'sink', writes: undefined } as never, 0, 60_000)).toBeNull();
  });

  it('shows a store of one machine has no workers to list', async () => {
    const { app } = await world([]);
    const { body, get } = await session(app, '/ui/workers');
    expect(body).toContain('hx-get="/ui/fragments/workers" hx-trigger="sse:workers" hx-swap="outerHTML"');
    expect(body).toContain(
      'This store runs on one machine: workers are listed when syncline run uses a PostgreSQL store (see README "Scale out").',
    );
    expect(await get('/ui/fragments/workers')).toContain('This store runs on one machine');
  });

  it('lists workers with their heartbeat, status and jobs, every value escaped', async () => {
    const now = Date.parse('2026-01-01T12:00:00.000Z');
    const control = {
      workers: async () => [
        {
          id: 'h1:10:abc',
          host: '<b>h1</b>',
          pid: 10,
          version: '1.2.3',
          schemaVersion: 7,
          concurrency: 4,
          timeoutMs: 30_000,
          startedAt: '2026-01-01T11:00:00.000Z',
          heartbeatAt: '2026-01-01T11:59:55.000Z',
          live: true,
          running: [{ job: 'sync:customers', mode: 'sync', startedAt: '2026-01-01T11:59:00.000Z' }],
        },
        {
          id: 'h2:11:def',
          host: 'h2',
          pid: 11,
          version: '1.2.3',
          schemaVersion: 7,
          concurrency: 2,
          timeoutMs: 30_000,
          startedAt: '2026-01-01T10:00:00.000Z',
          heartbeatAt: '2026-01-01T11:50:00.000Z',
          live: false,
          running: [],
        },
      ],
    } as unknown as ServiceControl;
    const body = String(await workersFragment(control, now));
    expect(body).toContain('&lt;b&gt;h1&lt;/b&gt;');
    expect(body).toContain('badge-live');
    expect(body).toContain('badge-silent');
    expect(body).toContain('5 s ago');
    expect(body).toContain('sync:customers (sync)');
    expect(body).toContain('<span class="muted">idle</span>');
  });
});
