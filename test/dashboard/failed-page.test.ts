import type { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { logIn } from './dashboard-session.ts';

const TOKEN = 'dash-failed-t0ken';

/**
 * The dead letters page over HTTP: real letters (records the streams' schemas refuse, run through
 * the engine into SQLite), its filters, payloads escaped and masked, replay and ignore of the
 * selected letters, and the CSRF check on its actions.
 */
describe('the dead letters page', () => {
  let t: TestStore | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
  });

  async function world() {
    t = await makeTestStore('sqlite');
    const definitions: AnyStreamDefinition[] = [
      {
        name: 'customers',
        key: 'id',
        schema: z.object({ id: z.number(), email: z.email() }),
        source: async function* () {
          yield {
            records: [
              { id: 1, email: 'ok@example.com' },
              {
                id: 2,
                email: '<script>alert(1)</script>',
                password: 'hunter2-pw',
                apiKey: 'k-secret-123',
                db: 'postgres://app:dbpass-42@db.example/prod',
              },
              { id: 3, email: 'not an email' },
            ],
            checkpoint: null,
          };
        },
      },
      {
        name: 'orders',
        key: 'id',
        schema: z.object({ id: z.number(), amount: z.number() }),
        source: async function* () {
          yield { records: [{ id: 9, amount: 'lots' }], checkpoint: null };
        },
      },
    ];
    const config = resolveConfig({ streams: definitions } as never);
    const scheduler = new FakeScheduler(['customers', 'orders']);
    const control = createServiceControl({ store: t.store, config, scheduler, metrics: fakeMetrics() });
    const app = createApiApp(control, { token: TOKEN, log: SILENT_LOGGER });
    for (const stream of definitions) {
      await runStream({
        store: t.store,
        stream,
        holder: newHolderId(),
        events: new SyncEventBus(),
        log: SILENT_LOGGER,
      });
    }
    const letters = await t.store.listDeadLetters({ limit: 10 });
    const byKey = (stream: string, key: string) => letters.find((l) => l.stream === stream && l.key === key)!;
    return { app, scheduler, store: t.store, byKey };
  }

  /** Logs in and returns what a page's requests carry: the cookie and the page's CSRF token. */
  async function session(app: Hono) {
    const { cookie, csrf: csrfOfPage } = await logIn(app, TOKEN);
    const csrf = await csrfOfPage('/ui/failed');
    const get = async (path: string) => {
      const r = await app.request(path, { headers: { cookie } });
      expect(r.status).toBe(200);
      return r.text();
    };
    const post = (path: string, form: [string, string][], headers: Record<string, string> = {}) =>
      app.request(path, {
        method: 'POST',
        body: new URLSearchParams(form),
        headers: { cookie, host: 'localhost', origin: 'http://localhost', 'x-csrf-token': csrf, ...headers },
      });
    return { get, post };
  }

  it('lists open letters with their payloads escaped and secrets masked, and filters them', async () => {
    const { app, byKey } = await world();
    const { get } = await session(app);
    const hostile = byKey('customers', '2');
    const body = await get('/ui/failed');
    // The live part refreshes itself on the `failed` topic, with the page's filters.
    expect(body).toContain('hx-get="/ui/fragments/failed" hx-trigger="sse:failed" hx-swap="outerHTML"');
    expect(body).toContain('<option value="customers">customers</option>');
    expect(body).toContain(`data-letter="${hostile.id}"`);
    expect(body).toContain(`data-letter="${byKey('customers', '3').id}"`);
    expect(body).toContain(`data-letter="${byKey('orders', '9').id}"`);
    expect(body).toContain('3 open dead letters');
    // The payload: pretty-printed, escaped, secrets masked.
    expect(body).not.toContain('<script>alert(1)');
    expect(body).toContain('&quot;email&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(body).toContain('&quot;password&quot;: &quot;••••&quot;');
    expect(body).toContain('&quot;apiKey&quot;: &quot;••••&quot;');
    expect(body).toMatch(/postgres:\/\/app:[^@"]+@db\.example\/prod/);
    for (const secret of ['hunter2-pw', 'k-secret-123', 'dbpass-42']) expect(body).not.toContain(secret);
    for (const tag of body.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/ui\/assets\//);
    expect(body).not.toMatch(/\son[a-z]+=/i);
    expect(body).not.toMatch(/\sstyle=/i);

    const ofOrders = await get('/ui/failed?stream=orders');
    expect(ofOrders).toContain('<option value="orders" selected>orders</option>');
    expect(ofOrders).toContain('hx-get="/ui/fragments/failed?stream=orders"');
    expect(ofOrders).toContain(`data-letter="${byKey('orders', '9').id}"`);
    expect(ofOrders).not.toContain(`data-letter="${hostile.id}"`);

    const byReason = await get('/ui/fragments/failed?reason=AMOUNT');
    expect(byReason).toContain('hx-get="/ui/fragments/failed?reason=AMOUNT"');
    expect(byReason).toContain(`data-letter="${byKey('orders', '9').id}"`);
    expect(byReason).not.toContain(`data-letter="${hostile.id}"`);
    expect(await get('/ui/fragments/failed?reason=no-such-reason')).toContain(
      'No dead letter matches the filter.',
    );
    expect(await get('/ui/fragments/failed?stream=nope')).toContain('unknown stream &quot;nope&quot;');
  });

  it('replays and ignores the selected letters, a row at a time or several, and shows ignored ones with all', async () => {
    const { app, scheduler, store, byKey } = await world();
    const { get, post } = await session(app);
    const [a, b, c] = [byKey('customers', '2'), byKey('customers', '3'), byKey('orders', '9')];

    const replay = await post('/ui/failed/replay', [
      ['ids', String(a.id)],
      ['ids', String(c.id)],
    ]);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toContain('Queued a replay of 2 dead letters of customers, orders.');
    expect([...scheduler.triggered].sort((x, y) => x.stream.localeCompare(y.stream))).toEqual([
      { stream: 'customers', request: { mode: 'replay', letters: [a.id] } },
      { stream: 'orders', request: { mode: 'replay', letters: [c.id] } },
    ]);

    const ignore = await post('/ui/failed/ignore', [
      ['ids', String(a.id)],
      ['ids', String(b.id)],
    ]);
    expect(await ignore.text()).toContain('Ignored 2 dead letters.');
    expect((await store.listDeadLetters({ limit: 10 })).map((l) => l.id)).toEqual([c.id]);
    const open = await get('/ui/fragments/failed');
    expect(open).not.toContain(`data-letter="${a.id}"`);
    expect(open).toContain('1 open dead letter');
    const all = await get('/ui/fragments/failed?all=1');
    expect(all).toContain(`data-letter="${a.id}"`);
    expect(all).toContain('badge-ignored');

    // A letter no longer open is left alone; none selected: the answer says what to do.
    const again = await post('/ui/failed/ignore', [['ids', String(a.id)]]);
    expect(await again.text()).toContain('Ignored 0 dead letters.');
    expect(await (await post('/ui/failed/replay', [])).text()).toContain(
      'Select the dead letters to replay first.',
    );
    expect(await (await post('/ui/failed/replay', [['ids', String(a.id)]])).text()).toContain(
      'None of the selected dead letters is open any more.',
    );
    expect(await (await post('/ui/failed/replay', [['ids', 'x']])).text()).toContain(
      '&quot;x&quot; is not a dead letter id',
    );
    // Every open letter of a stream.
    expect(await (await post('/ui/failed/ignore', [['stream', 'orders']])).text()).toContain(
      'Ignored 1 dead letter of orders.',
    );
    expect(await store.listDeadLetters({ limit: 10 })).toEqual([]);
  });

  it("shows and ignores a sink's letters by its name", async () => {
    const { app, store } = await world();
    const { get, post } = await session(app);
    await store.addSinkDeadLetters({
      sink: 'crm',
      at: new Date().toISOString(),
      letters: [
        {
          stream: 'customers',
          runId: 'run-1',
          key: '1',
          reason: 'HTTP 422 <b>refused</b>',
          payload: JSON.stringify({ kind: 'update', data: { token: 'tok-zzz' } }),
          eventId: 'ev-1',
        },
      ],
    });
    const [letter] = await store.listDeadLetters({ limit: 1 });
    expect(letter!.sink).toBe('crm');
    const body = await get('/ui/fragments/failed');
    expect(body).toContain('<span class="muted">sink</span> crm');
    expect(body).toContain('HTTP 422 &lt;b&gt;refused&lt;/b&gt;');
    expect(body).not.toContain('tok-zzz');
    expect(await (await post('/ui/failed/ignore', [['ids', String(letter!.id)]])).text()).toContain(
      'Ignored 1 dead letter.',
    );
  });

  it('refuses replay and ignore without the CSRF token', async () => {
    const { app, scheduler, store, byKey } = await world();
    const { post } = await session(app);
    const id = String(byKey('customers', '2').id);
    for (const path of ['/ui/failed/replay', '/ui/failed/ignore']) {
      const refused = await post(path, [['ids', id]], { 'x-csrf-token': '' });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('Refused');
      expect((await post(path, [['ids', id]], { 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
    }
    expect(scheduler.triggered).toEqual([]);
    expect(await store.listDeadLetters({ limit: 10 })).toHaveLength(3);
  });
});
