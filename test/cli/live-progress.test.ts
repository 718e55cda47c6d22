import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { INDEX, loopbackProjects, runCli } from './cli-harness.ts';
import { spawnInPty } from './pty-harness.ts';
import { renderScreen } from './screen.ts';

/** An SGR sequence: what colours text. (Cursor movement of live lines is not colour.) */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`);

/**
 * `syncline sync` on a pseudo-terminal against a loopback API that fails the way real ones do:
 * the first page answers 503 once, the second 429 with `Retry-After: 1` once.
 */
describe('the live progress line on a terminal', () => {
  const fixture = loopbackProjects('live');

  async function flakyApi(): Promise<string> {
    const seen = new Map<string, number>();
    return fixture.serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const page = Number(url.searchParams.get('cursor') ?? '1');
      const n = (seen.get(String(page)) ?? 0) + 1;
      seen.set(String(page), n);
      if (page === 1 && n === 1) {
        res.statusCode = 503;
        return res.end('down for a moment');
      }
      if (page === 2 && n === 1) {
        res.statusCode = 429;
        res.setHeader('retry-after', '1');
        return res.end('slow down');
      }
      const data = Array.from({ length: 5 }, (_, i) => ({ id: (page - 1) * 5 + i + 1 }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data, has_more: page < 3, next: String(page + 1), total_count: 15 }));
    });
  }

  function project(baseUrl: string): string {
    return fixture.project(
      `import { defineConfig, http } from ${JSON.stringify(INDEX)};
export default defineConfig({
  streams: [
    http.stream({
      name: 'people',
      key: 'id',
      request: { baseUrl: ${JSON.stringify(baseUrl)}, path: '/people' },
      pagination: { type: 'cursor', tokenPath: 'next', hasMorePath: 'has_more' },
      totalPath: 'total_count',
    }),
  ],
  // Waits long enough that a live line (redrawn 10 times a second) shows them.
  sync: { retry: { maxAttempts: 3, baseDelayMs: 500, minDelayMs: 400 } },
});
`,
    );
  }

  it('shows retries and Retry-After waits as they happen, in colour, the total and an ETA, and clears the wait when a page commits', async () => {
    const host = (await flakyApi()).replace('http://', '');
    const { code, output } = await spawnInPty(['sync'], project(`http://${host}`)).done;
    expect(code).toBe(0);
    expect(output).toContain('+ inserted  ~ updated  = unchanged  - deleted  ! failed');
    expect(output).toMatch(new RegExp(`retry 1 of 2 in \\d+ ms: 503 from ${host.replaceAll('.', '\\.')}`));
    expect(output).toContain(`waiting 1.0 s: 429 from ${host}, Retry-After`);
    expect(output).toMatch(COLOUR);
    expect(output).toContain('\u001b[33mwaiting 1.0 s');
    // The API's total_count, and an ETA while records remain.
    expect(stripVTControlCharacters(output)).toMatch(/ 5\/15 records \| \d+\/s \| ETA \d/);
    const screen = renderScreen(output);
    const line = screen.find((l) => l.startsWith('people '));
    expect(line).toMatch(/^people\s+\| 3 pages \| 15\/15 records \| \d+\/s \| \+15 ~0 =0 -0 !0 {2}ok$/);
    // And status says where the stream stands in words: its pass completed.
    const status = await runCli(['status'], fixture.dir);
    expect(status.stdout).toMatch(/^people\s+.+ ago\s+ok\s+15\s+pass complete\s+-\s+0$/m);
  }, 180_000);

  it('has no colour codes with NO_COLOR, and still says what it waits for', async () => {
    const host = (await flakyApi()).replace('http://', '');
    const { code, output } = await spawnInPty(['sync'], project(`http://${host}`), { NO_COLOR: '1' }).done;
    expect(code).toBe(0);
    expect(output).toContain(`waiting 1.0 s: 429 from ${host}, Retry-After`);
    expect(output).not.toMatch(COLOUR);
  }, 180_000);
});
