import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransientError } from '../../src/core/errors.ts';
import { createHttpTarget, type HttpTarget } from '../../src/sinks/http-target.ts';

/**
 * The pace an API sets with its own headers: a target that is told the budget is spent waits for
 * the reset before its next request to that API, whoever makes it.
 */
describe('an HTTP target adapts to the rate-limit headers of the API it calls', () => {
  let server: Server;
  let url: URL;
  let target: HttpTarget;
  /** When each request arrived (ms), and what the next answers carry. */
  let arrivals: number[];
  let answers: { status: number; headers: Record<string, string> }[];
  const signal = new AbortController().signal;

  beforeEach(async () => {
    arrivals = [];
    answers = [];
    server = createServer((_req, res) => {
      arrivals.push(Date.now());
      const next = answers.shift() ?? { status: 200, headers: {} };
      res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/contacts`);
    target = createHttpTarget({ owner: 'destination "crm"', timeoutMs: 5000, allowPrivateTargets: true });
  });
  afterEach(async () => {
    await target.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const get = () => target.call({ method: 'GET', url, headers: {} }, signal);

  it('waits for X-RateLimit-Reset (seconds from now) once X-RateLimit-Remaining is 0', async () => {
    answers.push({ status: 200, headers: { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' } });
    await get();
    await get();
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(900);
  });

  it('reads an epoch-seconds reset and the IETF RateLimit-* names too', async () => {
    const reset = String(Math.ceil(Date.now() / 1000) + 2);
    answers.push({ status: 200, headers: { 'RateLimit-Remaining': '0', 'RateLimit-Reset': reset } });
    await get();
    await get();
    expect(arrivals[1]!).toBeGreaterThanOrEqual(Number(reset) * 1000 - 1100);
  });

  it('holds every request after a 429 for its Retry-After, not only the one that got it', async () => {
    answers.push({ status: 429, headers: { 'Retry-After': '1' } });
    expect(await get().catch((e) => e)).toBeInstanceOf(TransientError);
    await Promise.all([get(), get()]);
    expect(arrivals).toHaveLength(3);
    expect(Math.min(arrivals[1]!, arrivals[2]!) - arrivals[0]!).toBeGreaterThanOrEqual(900);
  });

  it('goes on at once while budget remains', async () => {
    answers.push({ status: 200, headers: { 'X-RateLimit-Remaining': '5', 'X-RateLimit-Reset': '30' } });
    await get();
    await get();
    expect(arrivals[1]! - arrivals[0]!).toBeLessThan(900);
  });
});
