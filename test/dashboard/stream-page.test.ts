import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { diffRecords } from '../../src/server/dashboard/stream-page.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { csrfOf, logIn } from './dashboard-session.ts';

const TOKEN = 'stream-t0ken-5b2a';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const HOSTILE = '<script>alert(1)</script>';

/**
 * The stream page over HTTP (`/ui/streams/:name`): what it shows of a stream synced by the engine
 * into a real SQLite store, that what sources give is escaped and secrets hidden, and its actions.
 */
describe('the stream page of the dashboard', () => {
  let t: TestStore | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
  });

  /**
   * `customers` (history kept) synced twice, its second run changing a record; `orders` (no
   * history) once. Checkpoints hold a URL with credentials.
   */
  async function world(ordersCount = 1) {
    t = await makeTestStore('sqlite');
    let round = 0;
    const customers: AnyStreamDefinition = {
      name: 'customers',
      key: 'id',
      history: true,
      source: async function* () {
        const first = round === 0;
        yield {
          records: [
            first
              ? { id: 'a/b', name: HOSTILE, password: 'pw-one', address: { city: 'Lyon' } }
              : { id: 'a/b', name: '<img src=x onerror=alert(2)>', password: 'pw-two', tags: ['vip'] },
            { id: 'plain', name: 'Plain' },
          ],
          checkpoint: {
            next: 'https://robot:hunter2@api.example.com/items?page=2&api_key=k-123',
            cursor: first ? 1 : 2,
          },
        };
      },
    };
    const orders: AnyStreamDefinition = {
      name: 'orders',
      key: 'id',
      source: async function* () {
        yield {
          records: Array.from({ length: ordersCount }, (_, i) => ({ id: i + 1, note: HOSTILE })),
          checkpoint: null,
        };
      },
    };
    const definitions = [customers, orders];
    const config = resolveConfig({ streams: definitions } as never);
    const scheduler = new FakeScheduler(['customers', 'orders']);
    const control = createServiceControl({ store: t.store, config, scheduler, metrics: fakeMetrics() });
    const app = createApiApp(control, { token: TOKEN, log: SILENT_LOGGER });
    const run = (stream: AnyStreamDefinition) =>
      runStream({
        store: t!.store,
        stream,
        holder: newHolderId(),
        events: new SyncEventBus(),
        log: SILENT_LOGGER,
      });
    await run(customers);
    round = 1;
    await run(customers);
    await run(orders);
    return { app, scheduler, control, store: t.store };
  }

  const get = async (app: Awaited<ReturnType<typeof world>>['app'], path: string) => {
    const res = await app.request(path, { headers: BEARER });
    return { status: res.status, body: await res.text() };
  };

  /** What the page says, whatever else it is: no inline script, handler or style. */
  function expectNothingRuns(body: string) {
    for (const tag of body.match(/<script[^>]*>/g) ?? []) {
      expect(tag).toMatch(/src="\/ui\/assets\/|type="application\/json"/);
    }
    expect(body).not.toMatch(/<[^>]+\son[a-z]+=/i);
    expect(body).not.toMatch(/<[^>]+\sstyle=/i);
    expect(body).not.toContain(HOSTILE);
    expect(body).not.toContain('<img src=x');
  }

  it('shows the stream, its runs as charts and a table, its checkpoint with credentials hidden, and its changes escaped', async () => {
    const { app } = await world();
    const { status, body } = await get(app, '/ui/streams/customers');
    expect(status).toBe(200);
    expectNothingRuns(body);
    expect(body).toContain('<h1>customers</h1>');
    expect(body).toContain('every 30s');
    expect(body).toContain('href="/ui/failed?stream=customers"');
    // Two runs, newest first, with their counters.
    const runs = [...body.matchAll(/<tr data-run="([^"]+)">/g)];
    expect(runs).toHaveLength(2);
    // The charts' specs: records per run (bars) and duration (lines), oldest run first.
    const specs = [...body.matchAll(/<script type="application\/json">(.*?)<\/script>/gs)].map((m) =>
      JSON.parse(m[1]!),
    );
    expect(specs).toHaveLength(2);
    expect(specs[0]).toMatchObject({
      kind: 'bars',
      x: [0, 1],
      series: ['inserted', 'updated', 'deleted', 'unchanged'],
      values: [
        [2, 0],
        [0, 1],
        [0, 0],
        [0, 1],
      ],
      yLabel: 'records',
    });
    expect(specs[1]).toMatchObject({ kind: 'lines', series: ['duration'], yLabel: 'seconds' });
    expect(specs[1].values[0]).toHaveLength(2);
    // The checkpoint, pretty-printed, its URL without the password or the key.
    const checkpoint = /<pre class="checkpoint">([\s\S]*?)<\/pre>/.exec(body)?.[1];
    expect(checkpoint).toContain('&quot;cursor&quot;: 2');
    expect(checkpoint).toContain('api.example.com/items?page=2&amp;api_key=••••');
    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('k-123');
    // Recent changes: seq, kind, key, the data now (escaped, secrets hidden), a link to the versions.
    expect(body).toContain('<code>a/b</code>');
    expect(body).toContain('href="/ui/streams/customers/records/a%2Fb"');
    expect(body).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(body).not.toContain('pw-two');
    expect([...body.matchAll(/<tr data-seq="(\d+)">/g)].map((m) => Number(m[1]))).toEqual([3, 2, 1]);
    // Its actions: sync and reconcile through the existing routes, a reset behind a typed name.
    expect(body).toContain('hx-post="/ui/streams/customers/sync" hx-target="#messages"');
    expect(body).toContain('hx-post="/ui/streams/customers/reconcile" hx-target="#messages"');
    expect(body).toMatch(/<input[^>]+name="confirm" data-confirm="customers"/);
    expect(body).toMatch(/<button type="submit" class="danger" disabled>Reset<\/button>/);
    // Not paused: no approval.
    expect(body).not.toContain('/approve');
    // The live part refreshes on the streams event.
    const fragment = await get(app, '/ui/fragments/streams/customers');
    expect(fragment.status).toBe(200);
    expect(fragment.body).toMatch(
      /^<div id="stream" hx-get="\/ui\/fragments\/streams\/customers" hx-trigger="sse:streams" hx-swap="outerHTML">/,
    );
    expectNothingRuns(fragment.body);

    // A stream whose records carry a script shows it as text.
    const orders = await get(app, '/ui/streams/orders');
    expectNothingRuns(orders.body);
    expect(orders.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(orders.body).toContain('None: the next run reads from the beginning.');
    // It keeps no history: no link to versions.
    expect(orders.body).not.toContain('/records/');
  });

  it("shows a record's versions with what changed field by field, escaped and secrets hidden", async () => {
    const { app } = await world();
    const { status, body } = await get(app, '/ui/streams/customers/records/a%2Fb');
    expect(status).toBe(200);
    expectNothingRuns(body);
    expect(body).toContain('<h1>Record <code>a/b</code></h1>');
    expect(body).toContain('2 versions, newest first');
    const diff = /<table class="diff">([\s\S]*?)<\/table>/.exec(body)?.[1] ?? '';
    const rows = [...diff.matchAll(/<tr class="diff-(\w+)"><th scope="row"><code>([^<]+)<\/code>/g)].map(
      (m) => [m[2], m[1]],
    );
    expect(rows).toEqual([
      ['name', 'changed'],
      ['password', 'changed'],
      ['tags[0]', 'added'],
      ['address.city', 'removed'],
    ]);
    expect(diff).toContain('&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(diff).toContain('&quot;&lt;img src=x onerror=alert(2)&gt;&quot;');
    expect(body).not.toContain('pw-one');
    expect(body).not.toContain('pw-two');
    expect(body).toContain('••••');
    expect(body).toContain('The oldest version kept');

    // A stream without history, and a key without versions: a 404 page that says why.
    const none = await get(app, '/ui/streams/orders/records/1');
    expect(none.status).toBe(404);
    expect(none.body).toContain('keeps no history');
    const missing = await get(app, '/ui/streams/customers/records/nobody');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('has no version of the record &quot;nobody&quot;');
  });

  it('shows the evidence of a run the backfill breaker paused before its approve button, and approves', async () => {
    const { app, scheduler, store } = await world();
    const got = await store.acquireLease({
      stream: 'customers',
      holder: 'h',
      ttlMs: 60_000,
      at: new Date().toISOString(),
    });
    if (!('lease' in got)) throw new Error('no lease');
    const at = new Date().toISOString();
    await store.startRun({
      runId: 'paused-run',
      stream: 'customers',
      lease: got.lease,
      at,
      checkpointBefore: null,
    });
    await store.finishRun({
      runId: 'paused-run',
      status: 'paused_backfill',
      at,
      error: 'the run would rewrite 5000 records older than 7 days',
      counters: {},
      evidence: {
        why: 'old records rewritten',
        changes: 5000,
        source: 'postgres://app:db-s3cret@db.internal/crm',
        apiToken: 'tok-9',
        sample: [{ key: 'k1', note: HOSTILE }],
      },
    });
    await store.releaseLease(got.lease);
    const { body } = await get(app, '/ui/streams/customers');
    expectNothingRuns(body);
    const evidence = body.indexOf('<h3>Evidence</h3>');
    const approve = body.indexOf('hx-post="/ui/streams/customers/approve"');
    expect(evidence).toBeGreaterThan(0);
    expect(approve).toBeGreaterThan(evidence);
    expect(body).toContain('<dt>why</dt><dd class="evidence-value">old records rewritten</dd>');
    expect(body).toContain('<dt>changes</dt><dd class="evidence-value">5000</dd>');
    expect(body).toContain('<dt>apiToken</dt><dd class="evidence-value">••••</dd>');
    expect(body).toContain('db.internal/crm');
    expect(body).not.toContain('db-s3cret');
    expect(body).not.toContain('tok-9');
    expect(body).toContain('the run would rewrite 5000 records older than 7 days');

    const res = await app.request('/ui/streams/customers/approve', { method: 'POST', headers: BEARER });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/class="message ok".*approved &quot;customers&quot;/s);
    expect(scheduler.resumed).toEqual(['customers']);
    expect((await store.getState('customers'))?.approved).toBe(true);
  });

  it('resets only once the stream name is typed, and keeps the CSRF check', async () => {
    const { app, store } = await world();
    const reset = (fields: Record<string, string>, headers: Record<string, string> = BEARER) =>
      app.request('/ui/streams/customers/reset', {
        method: 'POST',
        body: new URLSearchParams(fields),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    for (const fields of [{}, { confirm: 'custom' }, { confirm: 'orders' }] as Record<string, string>[]) {
      const refused = await reset(fields);
      expect(await refused.text()).toMatch(
        /class="message error".*type the stream&#39;s name &quot;customers&quot;/s,
      );
    }
    expect((await store.getState('customers'))?.checkpoint).not.toBeNull();

    // From a login session, the action still needs the page's CSRF token.
    const { cookie } = await logIn(app, TOKEN);
    const forged = await reset(
      { confirm: 'customers' },
      { cookie, host: 'localhost', origin: 'http://localhost' },
    );
    expect(forged.status).toBe(403);
    expect((await store.getState('customers'))?.checkpoint).not.toBeNull();
    const page = await (await app.request('/ui/streams/customers', { headers: { cookie } })).text();
    const csrf = csrfOf(page);
    const done = await reset(
      { confirm: 'customers' },
      { cookie, host: 'localhost', origin: 'http://localhost', 'x-csrf-token': csrf },
    );
    expect(await done.text()).toMatch(/class="message ok".*reset &quot;customers&quot;/s);
    expect((await store.getState('customers'))?.checkpoint).toBeNull();
  });

  it('answers an unknown stream with a 404 page that says so', async () => {
    const { app } = await world();
    const page = await get(app, '/ui/streams/nope');
    expect(page.status).toBe(404);
    expect(page.body).toContain('<h1>Unknown stream</h1>');
    expect(page.body).toMatch(/class="message error".*unknown stream &quot;nope&quot;/s);
    const fragment = await get(app, '/ui/fragments/streams/nope');
    expect(fragment.status).toBe(404);
    const hostile = await get(app, `/ui/streams/${encodeURIComponent(HOSTILE)}`);
    expect(hostile.status).toBe(404);
    expectNothingRuns(hostile.body);
    const approve = await app.request('/ui/streams/nope/approve', { method: 'POST', headers: BEARER });
    expect(await approve.text()).toMatch(/class="message error".*unknown stream &quot;nope&quot;/s);
  });

  it("reads a stream's newest changes back through the log, however many rows of other streams came after", async () => {
    const { control } = await world(1500);
    expect((await control.changes('customers', 2)).map((r) => [r.seq, r.kind, r.key])).toEqual([
      [3, 'update', 'a/b'],
      [2, 'insert', 'plain'],
    ]);
    const all = await control.changes('customers', 20);
    expect(all.map((r) => r.seq)).toEqual([3, 2, 1]);
    expect(all[0]?.data).toMatchObject({ id: 'a/b', tags: ['vip'] });
    expect((await control.changes('orders', 3)).map((r) => r.seq)).toEqual([1503, 1502, 1501]);
    await expect(control.changes('nope', 3)).rejects.toThrow(/unknown stream "nope"/);
  });

  it('diffs two versions field by field', () => {
    expect(diffRecords({ a: 1, b: { c: [1, 2] }, gone: true }, { a: 2, b: { c: [1, 3, 4] }, d: {} })).toEqual(
      [
        { field: 'a', change: 'changed', before: 1, after: 2 },
        { field: 'b.c[1]', change: 'changed', before: 2, after: 3 },
        { field: 'b.c[2]', change: 'added', after: 4 },
        { field: 'd', change: 'added', after: {} },
        { field: 'gone', change: 'removed', before: true },
      ],
    );
    expect(diffRecords('x', 'y')).toEqual([{ field: '(value)', change: 'changed', before: 'x', after: 'y' }]);
    expect(diffRecords({ a: 1 }, { a: 1 })).toEqual([]);
  });
});
