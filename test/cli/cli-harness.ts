import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';

export const BIN = resolve(import.meta.dirname, '../../bin/syncline.mjs');
/**
 * What configs of temp projects import the library as: the bare name, as a user's config does. The
 * CLI resolves it to the copy that runs (config/resolve-running-syncline.ts); importing
 * `src/index.ts` by path instead made tsx compile a second whole copy of Syncline in every
 * process, ~0.8 s each. test/cli/config-imports-syncline.test.ts covers imports by path.
 */
export const INDEX = 'syncline';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp directory with a syncline.config.ts whose `items` stream is deterministic and slow. */
export function makeProject(
  options: {
    records?: number;
    pageSize?: number;
    delayMs?: number;
    extra?: string;
    streamOptions?: string;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-cli-'));
  writeFileSync(
    join(dir, 'syncline.config.ts'),
    `import { defineConfig, defineStream } from ${JSON.stringify(INDEX)};
const total = Number(process.env.TEST_RECORDS ?? ${options.records ?? 2000});
const rev = Number(process.env.TEST_REV ?? 0);
const pageSize = ${options.pageSize ?? 50};
const delayMs = Number(process.env.TEST_DELAY_MS ?? ${options.delayMs ?? 10});
export const record = (i: number) => ({ id: i, name: 'item ' + i + ' rev ' + rev, updated_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), version: rev + 1 });
export default defineConfig({
  streams: [
    defineStream({
      name: 'items',
      key: 'id',
      cursor: 'updated_at',
      version: 'version',
      ${options.streamOptions ?? ''}
      source: async function* ({ checkpoint }) {
        let next = (checkpoint as { after?: number } | null)?.after ?? 0;
        while (next < total) {
          await new Promise((r) => setTimeout(r, delayMs));
          const end = Math.min(total, next + pageSize);
          const records = [];
          for (let i = next; i < end; i++) records.push(record(i));
          yield { records, checkpoint: { after: end } };
          next = end;
        }
      },
    }),
  ],
});
${options.extra ?? ''}
`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function spawnCli(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: cliEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * The environment a test's CLI runs in: this one's, with JSON logs, and without the colour
 * switches of whoever runs the tests (`FORCE_COLOR` would colour piped output), then `env`.
 */
export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  const { FORCE_COLOR: _force, NO_COLOR: _no, ...inherited } = process.env;
  return { ...(inherited as Record<string, string>), SYNCLINE_LOG_FORMAT: 'json', ...env };
}

/** Resolves with the whole output once the process exits. */
export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolvePromise) => {
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

export function runCli(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return collect(spawnCli(args, cwd, env));
}

/** Resolves when the child's stderr has printed a line containing `text`. */
export function waitForOutput(child: ChildProcess, text: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for "${text}"; saw: ${seen.slice(-500)}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolvePromise();
      }
    };
    child.stderr?.on('data', onData);
  });
}

export { seeded } from '../helpers/seeded-random.ts';

/**
 * For each test of the describe block that calls it: a loopback HTTP API (`serve`) and a temp
 * project holding a `syncline.config.ts` (`project`), both removed after the test.
 */
export function loopbackProjects(prefix: string) {
  let dir: string | null = null;
  let server: Server | null = null;
  afterEach(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (server) await new Promise((done) => server!.close(done));
    dir = null;
    server = null;
  });
  return {
    /** Starts the API on a free loopback port; resolves with its base URL. */
    async serve(handler: RequestListener): Promise<string> {
      const started = createServer(handler);
      server = started;
      await new Promise<void>((done) => started.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(started.address() as { port: number }).port}`;
    },
    /** A new temp directory with `config` as its `syncline.config.ts`; returns the directory. */
    project(config: string): string {
      dir = mkdtempSync(join(tmpdir(), `syncline-${prefix}-`));
      writeFileSync(join(dir, 'syncline.config.ts'), config);
      return dir;
    },
    /** The current test's project directory. */
    get dir(): string {
      if (!dir) throw new Error('no project yet: call project() first');
      return dir;
    },
  };
}

/** The URL `syncline run` (started as `child`) logs once its API listens; rejects after 30 s. */
export function apiUrlOf(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`did not start: ${seen.slice(-800)}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      const match = /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
}
