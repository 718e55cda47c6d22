import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, FatalError, TransientError } from '../../../core/errors.ts';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import type { OAuth2AuthConfig } from './auth-config.ts';
import { createAuth } from './create-auth.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import { requestToken } from './token-fetcher.ts';

const CLIENT_ID = 'syncline-client';
const CLIENT_SECRET = 'cl!ent s3cret';
const env: SecretReader = (name) => {
  const value = ({ CID: CLIENT_ID, CSECRET: CLIENT_SECRET } as Record<string, string>)[name];
  if (value === undefined) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
};

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly form: URLSearchParams;
}

interface Answer {
  readonly status?: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
  readonly delayMs?: number;
}

/** A real token endpoint on 127.0.0.1: records each request and answers with `answer`. */
class TokenServer {
  readonly received: Received[] = [];
  answer: (n: number, request: Received) => Answer = (n) => ({
    body: { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: 3600 },
  });
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received = {
          headers: req.headers,
          form: new URLSearchParams(Buffer.concat(chunks).toString()),
        };
        this.received.push(received);
        const answer = this.answer(this.received.length, received);
        setTimeout(() => {
          res.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json', ...answer.headers });
          res.end(JSON.stringify(answer.body));
        }, answer.delayMs ?? 0);
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/oauth/token`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

let server: TokenServer;
beforeEach(async () => {
  server = new TokenServer();
  await server.listen();
});
afterEach(async () => {
  await server.close();
});

const signal = new AbortController().signal;

function oauth2(extra: Partial<OAuth2AuthConfig> = {}, options: { now?: () => number } = {}): HttpAuth {
  const config: OAuth2AuthConfig = {
    type: 'oauth2',
    tokenUrl: server.url,
    clientIdEnv: 'CID',
    clientSecretEnv: 'CSECRET',
    ...extra,
  };
  return createAuth(config, env, options);
}

async function authorization(auth: HttpAuth): Promise<string | undefined> {
  const request: OutgoingRequest = { url: new URL('https://api.example.com/v1/items'), headers: {} };
  // A signal per request, as the engine gives: 20 waiters on one signal would trip MaxListeners.
  await auth.apply(request, new AbortController().signal);
  return request.headers['Authorization'];
}

function basicOf(id: string, secret: string): string {
  const encode = (text: string): string => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

describe('OAuth2Auth against a real token endpoint', () => {
  it('fetches the token once and reuses it across many requests', async () => {
    const auth = oauth2({ scope: 'read:items write', audience: 'https://api.example.com' });
    for (let i = 0; i < 25; i++) expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(server.received).toHaveLength(1);
    const [first] = server.received;
    expect(first!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(first!.form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'read:items write',
      audience: 'https://api.example.com',
    });
  });

  it('authenticates the client by HTTP Basic by default, form-encoding id and secret first', async () => {
    await authorization(oauth2());
    const [first] = server.received;
    expect(first!.headers.authorization).toBe(basicOf(CLIENT_ID, CLIENT_SECRET));
    expect(first!.form.has('client_secret')).toBe(false);
  });

  it('authenticates the client in the body with authStyle body', async () => {
    await authorization(oauth2({ authStyle: 'body' }));
    const [first] = server.received;
    expect(first!.headers.authorization).toBeUndefined();
    expect(first!.form.get('client_id')).toBe(CLIENT_ID);
    expect(first!.form.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('fetches a new token 30 s before a long-lived one expires', async () => {
    let now = 1_000_000;
    const auth = oauth2({}, { now: () => now });
    expect(await authorization(auth)).toBe('Bearer tok-1');
    now += 3_600_000 - 30_001;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    now += 2;
    expect(await authorization(auth)).toBe('Bearer tok-2');
    expect(server.received).toHaveLength(2);
  });

  it('fetches a new token at 10% of the lifetime before expiry when that is under 30 s', async () => {
    server.answer = (n) => ({ body: { access_token: `tok-${n}`, token_type: 'bearer', expires_in: 100 } });
    let now = 0;
    const auth = oauth2({}, { now: () => now });
    await authorization(auth);
    now = 89_999;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    now = 90_000;
    expect(await authorization(auth)).toBe('Bearer tok-2');
  });

  it('keeps a token without expires_in until a 401', async () => {
    server.answer = (n) => ({ body: { access_token: `tok-${n}` } });
    let now = 0;
    const auth = oauth2({}, { now: () => now });
    await authorization(auth);
    now = 10 * 365 * 86_400_000;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(await auth.refresh(signal)).toBe(true);
    expect(await authorization(auth)).toBe('Bearer tok-2');
  });

  it('fetches a new token after a 401 and signs the retry with it', async () => {
    const auth = oauth2();
    expect(await authorization(auth)).toBe('Bearer tok-1');
    // the API answered 401
    expect(await auth.refresh(signal)).toBe(true);
    expect(await authorization(auth)).toBe('Bearer tok-2');
    // ... and 200 this time: later requests keep tok-2
    expect(await authorization(auth)).toBe('Bearer tok-2');
    expect(server.received).toHaveLength(2);
  });

  it('refuses a second refresh when the refreshed token is refused too', async () => {
    const auth = oauth2();
    await authorization(auth);
    expect(await auth.refresh(signal)).toBe(true);
    await authorization(auth);
    expect(await auth.refresh(signal)).toBe(false);
    expect(server.received).toHaveLength(2);
  });

  it('refreshes again when the refreshed token served other requests before a 401', async () => {
    const auth = oauth2();
    await authorization(auth);
    expect(await auth.refresh(signal)).toBe(true);
    await authorization(auth); // 200
    await authorization(auth); // 401: revoked meanwhile
    expect(await auth.refresh(signal)).toBe(true);
    expect(await authorization(auth)).toBe('Bearer tok-3');
  });

  it('sends one token request for 20 concurrent requests', async () => {
    server.answer = (n) => ({ body: { access_token: `tok-${n}`, expires_in: 3600 }, delayMs: 100 });
    const auth = oauth2();
    const headers = await Promise.all(Array.from({ length: 20 }, () => authorization(auth)));
    expect(new Set(headers)).toEqual(new Set(['Bearer tok-1']));
    expect(server.received).toHaveLength(1);
  });

  it('sends one token request for concurrent 401s, and all of them may retry', async () => {
    server.answer = (n) => ({ body: { access_token: `tok-${n}`, expires_in: 3600 }, delayMs: 50 });
    const auth = oauth2();
    await Promise.all(Array.from({ length: 5 }, () => authorization(auth)));
    const results = await Promise.all(Array.from({ length: 5 }, () => auth.refresh(signal)));
    expect(results).toEqual([true, true, true, true, true]);
    expect(server.received).toHaveLength(2);
  });

  it('lets the other waiters have the token when one of them is aborted', async () => {
    server.answer = (n) => ({ body: { access_token: `tok-${n}` }, delayMs: 100 });
    const auth = oauth2();
    const abort = new AbortController();
    const aborted = auth.apply({ url: new URL('https://api.example.com/'), headers: {} }, abort.signal);
    const other = authorization(auth);
    abort.abort(new Error('run stopped'));
    await expect(aborted).rejects.toThrow('run stopped');
    expect(await other).toBe('Bearer tok-1');
  });

  it('throws a TransientError with Retry-After on a 5xx, and fetches again on the next request', async () => {
    server.answer = (n) =>
      n === 1
        ? { status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'Retry-After': '7' } }
        : { body: { access_token: `tok-${n}` } };
    const auth = oauth2();
    const error = (await authorization(auth).catch((e: unknown) => e)) as TransientError;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).toContain('503');
    expect(await authorization(auth)).toBe('Bearer tok-2');
  });

  it('throws a TransientError when the token endpoint cannot be reached', async () => {
    const auth = oauth2();
    await server.close();
    await expect(authorization(auth)).rejects.toBeInstanceOf(TransientError);
    server = new TokenServer(); // for afterEach
    await server.listen();
  });

  it('keeps a still valid token when a proactive refresh fails transiently', async () => {
    server.answer = (n) =>
      n === 2 ? { status: 500, body: {} } : { body: { access_token: `tok-${n}`, expires_in: 3600 } };
    let now = 0;
    const auth = oauth2({}, { now: () => now });
    await authorization(auth);
    now = 3_590_000;
    expect(await authorization(auth)).toBe('Bearer tok-1');
    expect(await authorization(auth)).toBe('Bearer tok-3');
  });

  it('throws a FatalError naming the URL, code and description, but no secret, on invalid_client', async () => {
    server.answer = () => ({
      status: 401,
      body: { error: 'invalid_client', error_description: `bad secret "${CLIENT_SECRET}"` },
    });
    const auth = oauth2();
    const error = (await authorization(auth).catch((e: unknown) => e)) as FatalError;
    expect(error).toBeInstanceOf(FatalError);
    expect(error).not.toBeInstanceOf(TransientError);
    expect(error.message).toContain(server.url);
    expect(error.message).toContain('401 (invalid_client: bad secret "***")');
    expect(error.message).toContain('check CID, CSECRET and authStyle');
    const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}\n${inspect(error)}`;
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(everything).not.toContain(basicOf(CLIENT_ID, CLIENT_SECRET).slice(6));
    expect(everything).not.toContain(encodeURIComponent(CLIENT_SECRET));
  });

  it('throws a FatalError on a 400 invalid_scope and a 2xx without an access_token', async () => {
    server.answer = () => ({ status: 400, body: { error: 'invalid_scope' } });
    await expect(authorization(oauth2({ scope: 'admin' }))).rejects.toThrow(
      /400 \(invalid_scope\); check scope/,
    );
    server.answer = () => ({ body: { token_type: 'bearer' } });
    await expect(authorization(oauth2())).rejects.toThrow(FatalError);
    server.answer = () => ({ body: { access_token: 'x', token_type: 'mac' } });
    await expect(authorization(oauth2())).rejects.toThrow(/only bearer tokens/);
  });

  it('lists the client secret and current access token as secrets, but never serializes them', async () => {
    const auth = oauth2();
    expect(auth.secrets()).toEqual([]);
    await authorization(auth);
    expect(auth.secrets()).toEqual(expect.arrayContaining([CLIENT_SECRET, 'tok-1']));
    const scrubbed = scrubSecrets(
      `GET /?token=tok-1 with ${basicOf(CLIENT_ID, CLIENT_SECRET)}`,
      auth.secrets(),
    );
    expect(scrubbed).toBe('GET /?token=*** with Basic ***');
    for (const text of [JSON.stringify(auth), String(auth), inspect(auth)]) {
      expect(text).not.toContain(CLIENT_SECRET);
      expect(text).not.toContain('tok-1');
      expect(text).toContain('CSECRET');
    }
  });
});

describe('requestToken', () => {
  it('gives up with a TransientError after its timeout', async () => {
    server.answer = () => ({ body: {}, delayMs: 2_000 });
    const started = Date.now();
    const error = await requestToken({ url: server.url, headers: {}, body: '', signal }, 200).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/timed out after 200 ms/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
