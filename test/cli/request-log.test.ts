import { describe, expect, it } from 'vitest';
import { INDEX, loopbackProjects, runCli } from './cli-harness.ts';

const KEY = 'k3y-in-the-query-91';
const TOKEN = 't0ken-in-a-header-57';
const SECRETS = { PEOPLE_KEY: KEY, PETS_TOKEN: TOKEN };

interface LogLine {
  level: number;
  msg: string;
  stream?: string;
  method?: string;
  requestUrl?: string;
  status?: number | null;
  durationMs?: number;
  bytes?: number;
  decision?: string;
  attempt?: number;
  maxAttempts?: number;
  limits?: Record<string, string>;
}

/**
 * `--log-level debug` and `trace` against a loopback API whose first answer to each stream is a
 * 503 that echoes the request's credentials back: one stream sends an API key in the query, the
 * other a bearer token in a header.
 */
describe('syncline CLI request logs', () => {
  const fixture = loopbackProjects('request-log');

  async function project(): Promise<string> {
    const seen = new Set<string>();
    const url = await fixture.serve((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      res.setHeader('x-ratelimit-remaining', '99');
      res.setHeader('x-ratelimit-limit', '100');
      if (!seen.has(path)) {
        seen.add(path);
        res.statusCode = 503;
        res.setHeader('retry-after', '0');
        return res.end(`busy; you sent ${req.url} with ${req.headers.authorization ?? 'no header'}`);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: [{ id: 1 }, { id: 2 }], has_more: false }));
    });
    return fixture.project(
      `import { defineConfig, http } from ${JSON.stringify(INDEX)};
const common = { key: 'id', pagination: { type: 'cursor', hasMorePath: 'has_more' } } as const;
export default defineConfig({
  streams: [
    http.stream({ ...common, name: 'people', request: { baseUrl: '${url}', path: '/people' },
      auth: { type: 'apiKey', keyEnv: 'PEOPLE_KEY', in: 'query' } }),
    http.stream({ ...common, name: 'pets', request: { baseUrl: '${url}', path: '/pets' },
      auth: { type: 'bearer', tokenEnv: 'PETS_TOKEN' } }),
  ],
  sync: { retry: { maxAttempts: 3, baseDelayMs: 1, minDelayMs: 1 } },
});
`,
    );
  }

  const lines = (stderr: string): LogLine[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  it('logs each request at debug with status, duration, bytes and the retry decision, and no secret', async () => {
    const cwd = await project();
    const result = await runCli(['sync', '--log-level', 'debug'], cwd, SECRETS);
    expect(result.code).toBe(0);
    const requests = lines(result.stderr).filter((l) => l.method === 'GET');
    for (const stream of ['people', 'pets']) {
      const mine = requests.filter((l) => l.stream === stream);
      expect(mine).toEqual([
        expect.objectContaining({ level: 20, status: 503, decision: 'retrying', bytes: expect.any(Number) }),
        expect.objectContaining({ level: 20, status: 200, durationMs: expect.any(Number) }),
      ]);
      expect(mine[1]).not.toHaveProperty('decision');
      expect(mine[1]!.requestUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${stream}\\?limit=100$`));
      expect(mine[1]!.bytes).toBeGreaterThan(0);
      expect(mine[0]!.msg).toMatch(
        new RegExp(
          `^GET http://\\S+/${stream}\\?limit=100 answered 503 in \\d+ ms \\(\\d+ bytes\\); retrying$`,
        ),
      );
      // Debug leaves the attempt and the limit headers to trace.
      expect(mine[0]).not.toHaveProperty('limits');
    }
    expect(result.stdout + result.stderr).not.toContain(KEY);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
    // Off a terminal, the retry itself is a warning line, whatever the level.
    const retries = lines(result.stderr).filter((l) => l.level === 40 && l.msg.startsWith('waiting '));
    expect(retries.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^waiting 1 ms: 503 from 127\.0\.0\.1:\d+, Retry-After$/),
      expect.stringMatching(/^waiting 1 ms: 503 from 127\.0\.0\.1:\d+, Retry-After$/),
    ]);
  }, 180_000);

  it('adds the rate-limit headers and the attempt at trace', async () => {
    const cwd = await project();
    const result = await runCli(['sync', 'people', '--log-level', 'trace'], cwd, SECRETS);
    expect(result.code).toBe(0);
    const requests = lines(result.stderr).filter((l) => l.method === 'GET');
    expect(requests).toEqual([
      expect.objectContaining({
        level: 10,
        status: 503,
        attempt: 1,
        maxAttempts: 3,
        decision: 'retrying',
        limits: { 'retry-after': '0', 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99' },
      }),
      expect.objectContaining({ level: 10, status: 200, attempt: 2, maxAttempts: 3 }),
    ]);
    expect(result.stdout + result.stderr).not.toContain(KEY);
  }, 180_000);

  it('refuses a log level it does not know, listing those it does', async () => {
    const cwd = await project();
    const result = await runCli(['sync', '--log-level', 'verbose'], cwd, SECRETS);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--log-level.*verbose.*trace, debug, info, warn, error/);
  }, 60_000);
});
