import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unacceptedListener } from '../helpers/unaccepted-listener.ts';
import { runCli } from './cli-harness.ts';

const INDEX = resolve(import.meta.dirname, '../../src/index.ts');

/**
 * A TypeScript config is loaded through tsx's scoped import, which loads a second copy of
 * Syncline (and of what it imports) beside the CLI's: its streams' errors and objects cross
 * between the copies.
 */
describe("syncline CLI running a TypeScript config's http.stream", () => {
  let dir: string | null = null;
  let server: Server | null = null;
  afterEach(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (server) await new Promise((done) => server!.close(done));
    dir = null;
    server = null;
  });

  function project(baseUrl: string, request = ''): string {
    dir = mkdtempSync(join(tmpdir(), 'syncline-ts-http-'));
    writeFileSync(
      join(dir, 'syncline.config.ts'),
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
    return dir;
  }

  async function api(
    answer: (n: number, req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<string> {
    let requests = 0;
    server = createServer((req, res) => answer(++requests, req, res));
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
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
  }, 60_000);

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
  }, 60_000);

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
  }, 60_000);
});
