import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newHolderId } from '../../src/core/clock.ts';
import { FatalError } from '../../src/core/errors.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Logger } from '../../src/core/types.ts';
import { type RunResult, runStream } from '../../src/engine/stream-runner.ts';
import { requestToken } from '../../src/sources/http/auth/token-fetcher.ts';
import { http } from '../../src/sources/http/index.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Failures no retry can cure stop the run at once with what to fix. The runs below use the
 * default retry policy (8 attempts, backoff from 500 ms): had they retried, they would have taken
 * 25-50 s, and their `retries` counter would not be 0.
 */
describe('HTTP failures that can never succeed', () => {
  let t: TestStore;
  let servers: Server[] = [];
  let certDir: string;
  beforeAll(() => {
    // A self-signed certificate, made now: no key is kept in the repository.
    certDir = mkdtempSync(join(tmpdir(), 'syncline-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
  });
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
  });
  afterEach(async () => {
    for (const server of servers) await new Promise((done) => server.close(done));
    servers = [];
    await t.dispose();
  });

  async function listen<S extends Server>(server: S): Promise<{ server: S; port: number }> {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    servers.push(server);
    return { server, port: (server.address() as { port: number }).port };
  }

  /** A plain HTTP API answering each request with `answer(n)` (n = 1 for the first request). */
  async function api(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
    let requests = 0;
    const { port } = await listen(createHttpServer((req, res) => answer(++requests, req, res)));
    return { url: `http://127.0.0.1:${port}`, requests: () => requests };
  }

  function people(baseUrl: string) {
    return http.stream({
      name: 'people',
      key: 'id',
      request: { baseUrl, path: '/people' },
      pagination: { type: 'cursor', hasMorePath: 'has_more' },
    });
  }

  async function run(baseUrl: string): Promise<{ result: RunResult; ms: number }> {
    const started = Date.now();
    const result = await runStream({
      store: t.store,
      stream: people(baseUrl),
      holder: newHolderId(),
      events: new SyncEventBus(),
      log: silent,
    });
    return { result, ms: Date.now() - started };
  }

  const PAGE = JSON.stringify({ data: [{ id: 1, name: 'Ada' }], has_more: false });

  it('stops at once on a TLS certificate the client cannot trust, saying what to fix', async () => {
    const tls = createHttpsServer({
      key: readFileSync(join(certDir, 'key.pem')),
      cert: readFileSync(join(certDir, 'cert.pem')),
    });
    let connections = 0;
    tls.on('connection', () => connections++);
    const { port } = await listen(tls);
    const { result, ms } = await run(`https://127.0.0.1:${port}`);
    expect(result.status).toBe('failed');
    expect(result.error).toBe(
      `stream "people": GET https://127.0.0.1:${port}/people?limit=100: the server's TLS certificate is not ` +
        'trusted (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate); retrying cannot help: fix the ' +
        "server's certificate, or trust the CA that signed it with NODE_EXTRA_CA_CERTS=<ca.pem>",
    );
    expect(result.counters.retries).toBe(0);
    expect(result.counters.apiCalls).toBe(1);
    expect(connections).toBe(1);
    expect(ms).toBeLessThan(15_000);
  }, 90_000);

  it('stops at once when an OAuth2 token endpoint has such a certificate', async () => {
    const tls = createHttpsServer({
      key: readFileSync(join(certDir, 'key.pem')),
      cert: readFileSync(join(certDir, 'cert.pem')),
    });
    const { port } = await listen(tls);
    const error = await requestToken({
      url: `https://127.0.0.1:${port}/token`,
      headers: {},
      body: 'grant_type=client_credentials',
      signal: new AbortController().signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      /^OAuth2 token request to https:\/\/127\.0\.0\.1:\d+\/token failed: the server's TLS certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/,
    );
  });

  it('stops at once on a 200 that is a web page, not JSON', async () => {
    const html = await api((_n, _req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end('<!doctype html>\n<html><body><h1>Sign in</h1></body></html>');
    });
    const { result, ms } = await run(html.url);
    expect(result.status).toBe('failed');
    expect(result.error).toBe(
      `stream "people": GET ${html.url}/people?limit=100 answered 200 with content-type text/html; ` +
        'charset=utf-8, not JSON (<!doctype html> <html><body><h1>Sign in</h1></body></html>); check that ' +
        'request.baseUrl and request.path name the API, not a web page',
    );
    expect(result.counters.retries).toBe(0);
    expect(html.requests()).toBe(1);
    expect(ms).toBeLessThan(15_000);
  }, 90_000);

  it.each([
    ['labelled JSON', 'application/json'],
    ['unlabelled', null],
  ])(
    'retries a body that does not parse when it is %s (truncated or malformed JSON)',
    async (_what, type) => {
      const flaky = await api((n, _req, res) => {
        if (n === 1) {
          if (type !== null) res.setHeader('content-type', type);
          res.end('{"data": [{"id": 1, "na');
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(PAGE);
      });
      const { result } = await run(flaky.url);
      expect(result.error).toBeNull();
      expect(result.counters).toMatchObject({ retries: 1, inserted: 1 });
      expect(flaky.requests()).toBe(2);
    },
    90_000,
  );
});
