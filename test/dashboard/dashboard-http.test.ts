import { afterEach, describe, expect, it } from 'vitest';
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
import { csrfOf, logIn } from './dashboard-session.ts';

const TOKEN = 'dash-t0ken-9c1e';

/**
 * The dashboard over HTTP without a browser (test/dashboard/dashboard.browser.test.ts drives it in
 * Chromium): who may see it, what actions need, the headers every page carries, and that what
 * comes from sources and the config is escaped.
 */
describe('the dashboard over HTTP', () => {
  let t: TestStore | null = null;
  afterEach(async () => {
    await t?.dispose();
    t = null;
  });

  async function world(token: string | null, names = ['customers', 'orders']) {
    t = await makeTestStore('sqlite');
    const definitions: AnyStreamDefinition[] = names.map((name) => ({
      name,
      key: 'id',
      source: async function* () {
        yield { records: [{ id: 1, name: '<script>alert(1)</script>' }], checkpoint: null };
      },
    }));
    const config = resolveConfig({ streams: definitions } as never);
    const scheduler = new FakeScheduler(names);
    // What the service tells the live feed: the test sends `change` and `stop` itself.
    const watchers = new Set<(event: 'change' | 'stop') => void>();
    const tell = (event: 'change' | 'stop') => {
      for (const watcher of [...watchers]) watcher(event);
    };
    const control = createServiceControl({
      store: t.store,
      config,
      scheduler,
      metrics: fakeMetrics(),
      watch: (listener) => {
        watchers.add(listener);
        return () => watchers.delete(listener);
      },
    });
    const app = createApiApp(control, { token, log: SILENT_LOGGER });
    for (const stream of definitions) {
      await runStream({
        store: t.store,
        stream,
        holder: newHolderId(),
        events: new SyncEventBus(),
        log: SILENT_LOGGER,
      });
    }
    return { app, scheduler, tell, watchers };
  }

  const login = (app: Awaited<ReturnType<typeof world>>['app'], token = TOKEN) => logIn(app, token);

  it('sends a visitor without the token to the login form, and lets the token in by cookie or bearer header', async () => {
    const { app } = await world(TOKEN);
    const anonymous = await app.request('/ui');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get('location')).toBe('/ui/login?next=%2Fui');
    expect((await app.request('/')).headers.get('location')).toBe('/ui');
    // A fragment asked by htmx: 401 and where to go, not a login page inside the table.
    const fragment = await app.request('/ui/fragments/overview', { headers: { 'hx-request': 'true' } });
    expect(fragment.status).toBe(401);
    expect(fragment.headers.get('hx-redirect')).toBe('/ui/login');

    const wrong = await login(app, 'not-the-token');
    expect(wrong.res.status).toBe(401);
    expect(wrong.cookie).toBe('');
    expect(await wrong.res.text()).toContain('That is not the API token.');

    const { res, cookie } = await login(app);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui');
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(TOKEN);
    const page = await app.request('/ui', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('data-stream="customers"');
    const bearer = await app.request('/ui', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    // A forged or expired cookie is nobody.
    const forged = `${cookie.split('.')[0]}.${'A'.repeat(43)}`;
    expect((await app.request('/ui', { headers: { cookie: forged } })).status).toBe(302);
    // The login form does not send anyone elsewhere afterwards.
    const away = await app.request('/ui/login', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '//evil.example/ui' }),
      headers: { origin: 'http://localhost', host: 'localhost' },
    });
    expect(away.headers.get('location')).toBe('/ui');
  });

  it('answers every page with a strict Content-Security-Policy and escapes what sources and the config give', async () => {
    const { app } = await world(null, ['customers']);
    const res = await app.request('/ui');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    // No inline script: every <script> has a src of the dashboard's own.
    for (const tag of body.match(/<script[^>]*>/g) ?? []) expect(tag).toMatch(/src="\/ui\/assets\//);
    expect(body).not.toMatch(/\son[a-z]+=/i);
    // The vendored libraries are served from the package, versioned.
    for (const name of ['htmx.min.js', 'htmx-sse.min.js', 'uPlot.iife.min.js', 'dashboard.js']) {
      const src = new RegExp(`/ui/assets/${name.replace(/\./g, '\\.')}\\?v=[0-9a-f]{12}`).exec(body)?.[0];
      expect(src, name).toBeDefined();
      const asset = await app.request(src!);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    // A filter echoes what was typed, escaped.
    const filtered = await (await app.request('/ui?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E')).text();
    expect(filtered).not.toContain('<script>alert(1)</script>');
    expect(filtered).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('pages an overview of 200 streams 50 at a time, a paused one first, and filters it', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `stream_${String(i).padStart(3, '0')}`);
    const { app, scheduler } = await world(null, names);
    const at = scheduler.statuses.findIndex((s) => s.stream === 'stream_150');
    scheduler.statuses[at] = { ...scheduler.statuses[at]!, state: 'paused' };
    const started = performance.now();
    const first = await (await app.request('/ui/fragments/overview')).text();
    const ms = performance.now() - started;
    const rows = (html: string) => [...html.matchAll(/<tr data-stream="([^"]+)"/g)].map((m) => m[1]);
    expect(rows(first)).toHaveLength(50);
    expect(rows(first)[0]).toBe('stream_150');
    expect(first).toContain('page 1 of 4 (200 streams)');
    const last = await (await app.request('/ui/fragments/overview?page=4')).text();
    expect(rows(last)).toEqual(names.filter((n) => n !== 'stream_150').slice(149));
    // The live refresh of page 4 asks for page 4 again.
    expect(last).toContain('hx-get="/ui/fragments/overview?page=4"');
    const filtered = await (await app.request('/ui/fragments/overview?q=stream_19')).text();
    expect(rows(filtered)).toEqual(names.filter((n) => n.startsWith('stream_19')));
    process.stdout.write(`overview of 200 streams: first page rendered in ${Math.round(ms)} ms\n`);
  });

  it('tells an open page of a change on its live feed, and ends the feed when the service stops', async () => {
    const { app, tell, watchers } = await world(null, ['customers']);
    const res = await app.request('/ui/live');
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (done: () => boolean) => {
      const end = Date.now() + 5000;
      while (!done() && Date.now() < end) {
        const chunk = await reader.read();
        if (chunk.done) return true;
        text += decoder.decode(chunk.value);
      }
      return false;
    };
    await readUntil(() => text.includes(': live'));
    expect(watchers.size).toBe(1);
    tell('change');
    await readUntil(() => text.includes('event: streams'));
    expect(text).toContain('event: streams');
    // The service stops: the feed ends (the HTTP server's close does not wait for it), and the
    // feed no longer listens.
    tell('stop');
    expect(await readUntil(() => false)).toBe(true);
    expect(watchers.size).toBe(0);
  });

  it('refuses an action without the CSRF token of the session or from another origin, and acts with it', async () => {
    const { app, scheduler } = await world(TOKEN, ['customers']);
    const { cookie } = await login(app);
    const page = await (await app.request('/ui', { headers: { cookie } })).text();
    const csrf = csrfOf(page);
    expect(csrf).toBeDefined();
    const post = (headers: Record<string, string>) =>
      app.request('/ui/streams/customers/sync', {
        method: 'POST',
        headers: { cookie, host: 'localhost', ...headers },
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf!, origin: 'http://evil.example' })).status).toBe(403);
    expect((await post({ 'x-csrf-token': csrf!, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(scheduler.triggered).toEqual([]);
    const ok = await post({ 'x-csrf-token': csrf!, origin: 'http://localhost' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Sync of customers queued');
    expect(scheduler.triggered.map((x) => x.stream)).toEqual(['customers']);
    // The bearer header needs no CSRF token (a browser never sends it on its own).
    const bearer = await app.request('/ui/streams/customers/reconcile', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await bearer.text()).toContain('Reconciliation of customers queued');
    // An unknown stream: the one-line error, shown in the page's message area.
    const unknown = await app.request('/ui/streams/nope/sync', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const text = await unknown.text();
    expect(text).toMatch(/class="message error".*unknown stream &quot;nope&quot;/s);
    // The dashboard's actions are in the action log as its own; the refused ones are not.
    const actions = await t!.store.listActions({ limit: 10 });
    expect(actions.map((x) => [x.stream, x.action, x.origin])).toEqual([
      ['customers', 'reconcile', 'dashboard'],
      ['customers', 'sync', 'dashboard'],
    ]);
  });
});
