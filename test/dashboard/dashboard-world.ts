import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';

const BIN = resolve(import.meta.dirname, '../../bin/syncline.mjs');
/** Debian's Chromium (`apt-get install chromium`); never a browser downloaded by Playwright. */
export const CHROMIUM = '/usr/bin/chromium';
export const TOKEN = 'dashboard-test-token-7d2f';
/** What a hostile source puts in a record: rendered, it must stay text. */
export const HOSTILE_NAME = `<script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">`;

export interface DashboardWorld {
  /** The service's base URL (`http://127.0.0.1:port`). */
  readonly url: string;
  readonly dir: string;
  /** The SQLite store's path. */
  readonly store: string;
  /** Makes the `items` stream's source rewrite every record under old timestamps (a backfill). */
  rewriteItems(rev: number): void;
  /** The API, with the token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** What the service printed so far (for failures). */
  stderr(): string;
  stop(): Promise<number | null>;
}

/**
 * A real `syncline run` on a SQLite store with the API token, syncing: `customers` from the
 * simulator (every 2 s), `people` (one record a strict schema refuses: a dead letter, its name
 * hostile HTML) and `items` (a backfill breaker: `rewriteItems` makes its next read look like a
 * retroactive rewrite, which pauses it for approval), plus `extra` streams from the simulator to
 * fill the overview.
 */
export async function startDashboardWorld(options: { extraStreams?: number } = {}): Promise<DashboardWorld> {
  const sim: SimulatorServer = await startSimulator({
    seed: 7,
    datasets: { customers: 400 },
    mutations: { ratePerSecond: 5 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'syncline-dash-'));
  const revFile = join(dir, 'items-rev.txt');
  writeFileSync(revFile, '0');
  const customers = (name: string, every: string) => `
    http.stream({
      name: ${JSON.stringify(name)},
      key: 'id',
      cursor: 'updated_at',
      version: 'version',
      schedule: { every: '${every}', jitter: 0 },
      request: { baseUrl: ${JSON.stringify(sim.url)}, path: '/v1/customers', query: { style: 'cursor' } },
      pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
      pageSize: 100,
      incremental: { param: 'updated_since', lookback: '10m', safetyLag: '1s' },
    }),`;
  const extras = Array.from({ length: options.extraStreams ?? 0 }, (_, i) =>
    customers(`accounts_${String(i + 1).padStart(2, '0')}`, `${20 + i}s`),
  ).join('');
  writeFileSync(
    join(dir, 'syncline.config.ts'),
    `import { defineConfig, defineStream, http } from 'syncline';
import { readFileSync } from 'node:fs';
import { z } from ${JSON.stringify(import.meta.resolve('zod'))};
const people = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', updated_at: '2026-01-01T00:00:01Z' },
  { id: 2, name: 'Grace Hopper', email: 'grace@example.com', updated_at: '2026-01-01T00:00:02Z' },
  { id: 3, name: ${JSON.stringify(HOSTILE_NAME)}, email: 'not-an-email', password: 'hunter2-secret', updated_at: '2026-01-01T00:00:03Z' },
];
export default defineConfig({
  service: { shutdownTimeout: '10s' },
  streams: [${customers('customers', '2s')}
    defineStream({
      name: 'people',
      key: 'id',
      cursor: 'updated_at',
      schedule: { every: '1h', jitter: 0 },
      schema: z.object({ id: z.number(), name: z.string(), email: z.email(), updated_at: z.string() }),
      async *source() {
        yield { records: people, checkpoint: { since: people.at(-1).updated_at } };
      },
    } as never),
    defineStream({
      name: 'items',
      key: 'id',
      cursor: 'updated_at',
      version: 'version',
      history: true,
      backfill: { maxAge: '30s' },
      schedule: { every: '2s', jitter: 0 },
      async *source({ checkpoint }) {
        const rev = Number(readFileSync(${JSON.stringify(revFile)}, 'utf8'));
        const after = (checkpoint as { after?: number } | null)?.after ?? 0;
        const records = [];
        for (let i = after; i < 60; i++) {
          records.push({ id: i, name: 'item ' + i + ' rev ' + rev, updated_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), version: rev + 1 });
        }
        yield { records, checkpoint: { after: 60 } };
      },
    }),${extras}
  ],
});
`,
  );
  const store = join(dir, 'store.db');
  const child: ChildProcess = spawn(
    process.execPath,
    [BIN, 'run', '--store', store, '--listen', '127.0.0.1:0'],
    {
      cwd: dir,
      env: { ...process.env, SYNCLINE_API_TOKEN: TOKEN, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let seen = '';
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`syncline run did not start: ${seen.slice(-1500)}`)),
      60_000,
    );
    child.stderr!.on('data', (d: Buffer) => {
      seen = (seen + d.toString()).slice(-200_000);
      const match = /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    });
    void exited.then(() => fail(new Error(`syncline run exited: ${seen.slice(-1500)}`)));
  });
  return {
    url,
    dir,
    store,
    rewriteItems: (rev) => writeFileSync(revFile, String(rev)),
    api: (path, init = {}) =>
      fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) },
      }),
    stderr: () => seen,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** Chromium, headless, from the Debian package. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
}
