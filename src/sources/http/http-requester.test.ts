import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { unacceptedListener } from '../../../test/helpers/unaccepted-listener.ts';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { RequestReport } from '../../core/source.ts';
import { HttpRequester, type HttpTimeouts } from './http-requester.ts';

function send(url: string, timeouts: HttpTimeouts = {}, observe?: (request: RequestReport) => void) {
  return new HttpRequester(timeouts, undefined, observe).send({
    method: 'GET',
    url: new URL(url),
    headers: {},
    signal: new AbortController().signal,
    what: `GET ${url}`,
    stream: 'people',
  });
}

describe('HttpRequester', () => {
  it('fails at once, fatally, on a URL whose scheme fetch cannot get', async () => {
    const error = await send('ftp://127.0.0.1/people').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toBe(
      'stream "people": GET ftp://127.0.0.1/people: must be an http:// or https:// URL; fetch cannot get a ' +
        '"ftp:" URL; check request.baseUrl',
    );
  });

  it('fails at once, fatally, on a port fetch refuses', async () => {
    for (const port of [1, 6000]) {
      const error = await send(`http://127.0.0.1:${port}/people`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^stream "people": GET http://127.0.0.1:${port}/people: port ${port} is one fetch refuses`,
        ),
      );
    }
  });

  it('keeps a refused connection transient: the API may be restarting', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    await new Promise((done) => server.close(done));
    const error = await send(`http://127.0.0.1:${port}/people`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('gives up connecting after connectTimeoutMs, as a TransientError naming that timeout', async () => {
    const listener = await unacceptedListener();
    try {
      const url = `${listener.url}/people`;
      // The whole-request timeout is far longer: the connect timeout must be the one that fires.
      const error = await send(url, { connectMs: 300, requestMs: 60_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as Error).message).toBe(
        `GET ${url}: could not connect within 300 ms (request.connectTimeoutMs)`,
      );
    } finally {
      await listener.close();
    }
  });

  it('sums up a retryable answer in a few words: its status and the host', async () => {
    let answers = 0;
    const server = createServer((_req, res) => {
      answers++;
      res.statusCode = answers === 1 ? 503 : 429;
      if (answers > 1) res.setHeader('retry-after', '12');
      res.end('busy');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const unavailable = await send(`http://${host}/people`).catch((e: unknown) => e);
      expect(unavailable).toBeInstanceOf(TransientError);
      expect((unavailable as TransientError).summary).toBe(`503 from ${host}`);
      const throttled = (await send(`http://${host}/people`).catch((e: unknown) => e)) as TransientError;
      expect(throttled).toMatchObject({ summary: `429 from ${host}`, throttled: true, retryAfterMs: 12_000 });
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('tells its observer of every request sent: answered (retryable or not) or not, never one refused unsent', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/busy' ? 503 : 200;
      res.end(req.url === '/busy' ? 'busy' : '[{"id":1}]');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    const told: RequestReport[] = [];
    const observe = (r: RequestReport) => told.push(r);
    try {
      await send(`http://127.0.0.1:${port}/ok`, {}, observe);
      await send(`http://127.0.0.1:${port}/busy`, {}, observe).catch(() => undefined);
      await send('ftp://127.0.0.1/people', {}, observe).catch(() => undefined);
    } finally {
      await new Promise((done) => server.close(done));
    }
    await send(`http://127.0.0.1:${port}/gone`, {}, observe).catch(() => undefined);
    expect(told.map(({ durationMs, ...r }) => r)).toEqual([
      { what: `GET http://127.0.0.1:${port}/ok`, status: 200, bytes: 10 },
      { what: `GET http://127.0.0.1:${port}/busy`, status: 503, bytes: 4 },
      { what: `GET http://127.0.0.1:${port}/gone`, status: null, bytes: 0 },
    ]);
    for (const r of told) expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });
});
