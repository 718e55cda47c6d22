import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { unacceptedListener } from '../helpers/unaccepted-listener.ts';
import { INDEX, loopbackProjects, runCli } from './cli-harness.ts';

/**
 * A TypeScript config is loaded through tsx's scoped import, which loads a second copy of
 * Syncline (and of what it imports) beside the CLI's: its streams' errors and objects cross
 * between the copies.
 */
describe("syncline CLI running a TypeScript config's http.stream", () => {
  const fixture = loopbackProjects('ts-http');

  function project(baseUrl: string, request = ''): string {
    return fixture.project(
      `import { defineConfig, http } from ${JSON.stringify(INDEX)};
export default defineConfig({
  streams: [
    http.stream({
      name: 'people',
      key: 'id',
      request: { baseUrl: ${JSON.stringify(baseUrl)}, path: '/people'${request} },
      pagination: { type: 'cursor', hasMorePath: 'has_more' },
    }),
  ],
  sync: { retry: { maxAttempts: 2, baseDelayMs: 10, minDelayMs: 1 } },
});
`,
    );
  }

  async function api(
    answer: (n: number, req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<string> {
    let requests = 0;
    return fixture.serve((req, res) => answer(++requests, req, res));
  }

  const PAGE = JSON.stringify({ data: [{ id: 1 }, { id: 2 }], has_more: false });

  it('retries a 503 (a TransientError of the config’s copy is one to the engine too)', async () => {
    const url = await api((n, _req, res) => {
      if (n === 1) {
        res.statusCode = 503;
        res.end('busy');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(PAGE);
    });
    const result = await runCli(['sync', '--json'], project(url));
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)[0]).toMatchObject({
      status: 'ok',
      counters: { inserted: 2, retries: 1, apiCalls: 2 },
    });
  }, 180_000);

  // request.connectTimeoutMs takes an Agent of the undici package, loaded by the config's copy.
  it('syncs with request.connectTimeoutMs, through a connection pool of its own', async () => {
    const url = await api((_n, _req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(PAGE);
    });
    const result = await runCli(['sync', '--json'], project(url, ', connectTimeoutMs: 300'));
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)[0]).toMatchObject({ status: 'ok', counters: { inserted: 2 } });
  }, 180_000);

  it('gives up on a connect that does not complete within connectTimeoutMs, after retrying it', async () => {
    const listener = await unacceptedListener();
    try {
      const result = await runCli(['sync', '--json'], project(listener.url, ', connectTimeoutMs: 300'));
      expect(result.code).toBe(1);
      const [outcome] = JSON.parse(result.stdout);
      expect(outcome).toMatchObject({ status: 'failed', counters: { retries: 1, apiCalls: 2 } });
      expect(outcome.error).toMatch(
        /GET http:\/\/127\.0\.0\.1:\d+\/people\?limit=100 failed 2 times, giving up: .*could not connect within 300 ms \(request\.connectTimeoutMs\)$/,
      );
    } finally {
      await listener.close();
    }
  }, 180_000);
});
