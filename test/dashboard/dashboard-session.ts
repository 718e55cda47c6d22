import type { Hono } from 'hono';

/** What a browser holds after the login form: its session cookie, and a page's CSRF token. */
export interface DashboardSession {
  /** `syncline_session=...`, as the Cookie header carries it; empty when the login was refused. */
  readonly cookie: string;
  /** The login's answer (303 in, 401 refused). */
  readonly res: Response;
  /** The CSRF token `path`'s page embeds for htmx (`hx-headers`). */
  csrf(path?: string): Promise<string>;
}

/** The CSRF token an HTML page embeds in its `hx-headers`. */
export function csrfOf(page: string): string {
  return /X-CSRF-Token&quot;:&quot;([A-Za-z0-9_-]+)&quot;/.exec(page)?.[1] ?? '';
}

/** Logs in with the form, as a browser on `http://localhost` does. */
export async function logIn(app: Hono, token: string, next = '/ui'): Promise<DashboardSession> {
  const res = await app.request('/ui/login', {
    method: 'POST',
    body: new URLSearchParams({ token, next }),
    headers: { origin: 'http://localhost', host: 'localhost' },
  });
  const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
  const csrf = async (path = '/ui') =>
    csrfOf(await (await app.request(path, { headers: { cookie } })).text());
  return {
    cookie,
    res,
    csrf,
  };
}
