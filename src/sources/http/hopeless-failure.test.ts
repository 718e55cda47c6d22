import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hopelessFailure } from './hopeless-failure.ts';

/** What Node's fetch throws for `url` (loopback only; bad ports and schemes fail before connecting). */
async function fetchError(url: string): Promise<unknown> {
  return fetch(url).then(
    () => {
      throw new Error(`${url} answered`);
    },
    (error: unknown) => error,
  );
}

describe('hopelessFailure', () => {
  it("recognises fetch's own refusals of a scheme and of a port", async () => {
    expect(hopelessFailure(await fetchError('ftp://127.0.0.1/x'))).toMatch(
      /^fetch cannot get a URL of this scheme/,
    );
    expect(hopelessFailure(await fetchError('http://127.0.0.1:6000/x'))).toMatch(
      /^fetch refuses to connect to this port/,
    );
  });

  it('leaves a refused connection to the retries: the API may be restarting', async () => {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    await new Promise((done) => server.close(done));
    expect(hopelessFailure(await fetchError(`http://127.0.0.1:${port}/x`))).toBeNull();
  });

  it('finds a certificate error code down the cause chain', () => {
    const cause = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
    const error = new TypeError('fetch failed', { cause });
    expect(hopelessFailure(error)).toMatch(
      /^the server's TLS certificate is not trusted \(CERT_HAS_EXPIRED: certificate has expired\)/,
    );
    expect(hopelessFailure(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }))).toBeNull();
  });
});
