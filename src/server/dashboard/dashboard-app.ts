import type { Context, Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { describeError } from '../../core/errors.ts';
import type { Logger } from '../../core/types.ts';
import type { ServiceControl } from '../../runtime/service-types.ts';
import { toApiError } from '../api-errors.ts';
import { DashboardAssets } from './dashboard-assets.ts';
import {
  CSRF_FIELD,
  CSRF_HEADER,
  DashboardAuth,
  SESSION_COOKIE,
  SESSION_SECONDS,
  sameOrigin,
} from './dashboard-auth.ts';
import { type Html, message, page } from './dashboard-html.ts';
import { LiveFeed } from './dashboard-live.ts';
import { registerFailed } from './failed-page.ts';
import { registerOverview } from './overview-page.ts';
import { registerSinks } from './sinks-page.ts';
import { registerStreamPage } from './stream-page.ts';
import { registerWorkers } from './workers-page.ts';

export interface DashboardOptions {
  /** The API token: the login asks for it; null (loopback only): no login. */
  readonly token: string | null;
  readonly log: Logger;
  /** The live feed's timings (tests shorten them). */
  readonly live?: ConstructorParameters<typeof LiveFeed>[1];
}

/** Paths of the dashboard: it checks who calls them itself (a session cookie or the bearer token). */
export function isDashboardPath(path: string): boolean {
  return path === '/' || path === '/favicon.ico' || path === '/ui' || path.startsWith('/ui/');
}

/**
 * Pages are answered with a policy that runs nothing but the dashboard's own files, loads nothing
 * from elsewhere and cannot be framed; nothing is cached.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  // Not no-referrer: a browser then sends `Origin: null` on the page's own POSTs, which the same-origin check refuses.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

/** A page's own path to come back to after the login: only a dashboard path of this server. */
function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/ui(\/[^/\\]|\?|$)/.test(next) && !next.includes('//') ? next : '/ui';
}

/**
 * What a page module gets to add its routes (`register<Page>(app, ctx)`): the control to read and
 * act through, and the page shell.
 */
export interface DashboardContext {
  readonly control: ServiceControl;
  readonly log: Logger;
  /** A whole page: the shell around `body`, `path` the navigation entry shown as current. */
  render(c: Context, title: string, path: string, body: Html): Response | Promise<Response>;
  /**
   * An action's answer: `what`'s message, or its error's one line (a 500 is logged), as a fragment
   * htmx puts in the page's message area.
   */
  act(c: Context, what: () => Promise<string>): Promise<Response>;
}

export interface Dashboard {
  /** Ends the live feeds, so the HTTP server's close does not wait for them. */
  close(): void;
}

/**
 * The web dashboard, served beside the API by `syncline run` and `syncline serve` under `/ui`:
 * pages rendered on the server (every value escaped), live through `/ui/live`, acting through the
 * same `ServiceControl` as the API.
 */
export function mountDashboard(app: Hono, control: ServiceControl, options: DashboardOptions): Dashboard {
  const auth = new DashboardAuth(options.token);
  const assets = new DashboardAssets();
  const live = new LiveFeed(control, options.live);
  const { log } = options;

  app.get('/', (c) => c.redirect('/ui', 302));
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.use('/ui/*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    if (!c.req.path.startsWith('/ui/assets/')) c.res.headers.set('Cache-Control', 'no-store');
  });
  app.use('/ui', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
    c.res.headers.set('Cache-Control', 'no-store');
  });

  app.get('/ui/assets/:name', (c) => {
    const asset = assets.get(c.req.param('name'));
    if (!asset) return c.text('no such file', 404);
    const current = c.req.query('v') === asset.version;
    return c.body(new Uint8Array(asset.body), 200, {
      'Content-Type': asset.type,
      'Cache-Control': current ? 'public, max-age=31536000, immutable' : 'no-cache',
      ETag: `"${asset.version}"`,
    });
  });

  const loginPage = (c: Context, problem: string | null, status: 200 | 401) =>
    c.html(
      html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Log in · Syncline</title>
<link rel="stylesheet" href="${assets.url('dashboard.css')}"><script src="${assets.url('dashboard.js')}" defer></script></head>
<body class="login"><main id="main" class="login-box">
<h1>Syncline</h1>
<form method="post" action="/ui/login">
<input type="hidden" name="next" value="${safeNext(c.req.query('next'))}">
<label for="token">API token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<p class="hint">The token the service was started with (SYNCLINE_API_TOKEN).</p>
${problem ? html`<p class="message error" role="alert">${problem}</p>` : ''}
<button type="submit">Log in</button>
</form></main></body></html>`,
      status,
    );

  app.get('/ui/login', (c) => (auth.required ? loginPage(c, null, 200) : c.redirect('/ui', 302)));
  app.post('/ui/login', async (c) => {
    if (!sameOrigin(c)) return c.text('refused: the login form must be sent from this dashboard', 403);
    const form = await c.req.parseBody();
    const given = typeof form.token === 'string' ? form.token : '';
    if (!auth.tokenMatches(given)) {
      log.warn({ path: '/ui/login' }, 'dashboard login refused: wrong token');
      return loginPage(c, 'That is not the API token.', 401);
    }
    setCookie(c, SESSION_COOKIE, auth.newSession(), {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: SESSION_SECONDS,
      secure: new URL(c.req.url).protocol === 'https:',
    });
    return c.redirect(safeNext(typeof form.next === 'string' ? form.next : undefined), 303);
  });

  // Everything else needs the caller known; actions also need the CSRF token of its session.
  const guard = async (c: Context, next: () => Promise<void>) => {
    if (c.req.path.startsWith('/ui/assets/') || c.req.path === '/ui/login') return next();
    const who = auth.identify(c);
    if (who === null) {
      if (c.req.header('hx-request') === 'true') {
        return c.text('log in again', 401, { 'HX-Redirect': '/ui/login' });
      }
      const back = c.req.method === 'GET' ? c.req.path + new URL(c.req.url).search : '/ui';
      return c.redirect(`/ui/login?next=${encodeURIComponent(back)}`, 302);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && who.kind !== 'bearer') {
      const form = c.req.header('content-type')?.includes('form') ? await c.req.parseBody() : {};
      const given =
        c.req.header(CSRF_HEADER) ?? (typeof form[CSRF_FIELD] === 'string' ? form[CSRF_FIELD] : undefined);
      if (!sameOrigin(c) || !auth.csrfMatches(who.session, given)) {
        return c.html(
          message(
            'error',
            'Refused: this action did not come from a page of this dashboard; reload the page.',
          ),
          403,
        );
      }
    }
    c.set('dashboardSession' as never, who as never);
    return next();
  };
  app.use('/ui', guard);
  app.use('/ui/*', guard);

  const frame = (c: Context, title: string, path: string) => {
    const who = c.get('dashboardSession' as never) as unknown as { kind: string; session: string };
    return { title, path, assets, csrf: auth.csrfToken(who.session), loggedIn: who.kind === 'session' };
  };
  const render = (c: Context, title: string, path: string, body: Html) =>
    c.html(page(frame(c, title, path), body));
  const act = async (c: Context, what: () => Promise<string>) => {
    try {
      return c.html(message('ok', await what()));
    } catch (error) {
      const answer = toApiError(error);
      if (answer.status === 500)
        log.error({ path: c.req.path, err: describeError(error) }, 'dashboard action failed');
      return c.html(message('error', answer.message));
    }
  };
  const ctx: DashboardContext = { control, log, render, act };
  app.post('/ui/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/ui/login', 303);
  });
  // The pages, each from its module.
  registerOverview(app, ctx);
  registerFailed(app, ctx);
  registerSinks(app, ctx);
  registerWorkers(app, ctx);
  registerStreamPage(app, ctx);
  app.get('/ui/live', (c) => live.serve(c));

  for (const mode of ['sync', 'reconcile'] as const) {
    app.post(`/ui/streams/:name/${mode}`, (c) =>
      act(c, async () => {
        const name = c.req.param('name');
        const result = await control.trigger(name, mode, 'dashboard');
        return `${mode === 'sync' ? 'Sync' : 'Reconciliation'} of ${name} ${result.state === 'started' ? 'started' : 'queued: it starts as soon as the stream and a slot are free'}.`;
      }),
    );
  }

  return { close: () => live.close() };
}
