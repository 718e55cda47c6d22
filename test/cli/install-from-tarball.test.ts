import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};

/**
 * Syncline as a user gets it before it is published (README "Use it in your project"): `npm pack`
 * of this checkout, `npm install --offline <tarball>` into a fresh project, then `npx syncline`
 * there. About 15 s on this 2-core machine (pack with its build ~6 s, install ~7 s), so the
 * package is packed and installed once for the three tests.
 *
 * What is not done as on a user's machine, to stay offline, and why:
 * - The pack runs in a copy of this checkout (git's files, without dist/): `npm pack` runs the
 *   `prepare` script, which rebuilds dist/, and doing that here would pull dist/ from under the CLI
 *   tests running beside this one. The copy's build is the one a fresh clone gets.
 * - The project gets a package-lock.json pinning syncline's dependencies as this checkout's lock
 *   does: without one npm asks the registry for each dependency's metadata, which `npm ci` left out
 *   of the cache (it installs from the lock), and `--offline` fails with ENOTCACHED. The tarballs
 *   themselves come from npm's cache, checked against the lock's integrity.
 * - better-sqlite3's install script (prebuild-install) takes its prebuilt binary from a local
 *   folder (its `local-prebuilds` option) holding the one this checkout's install built, where a
 *   user's machine downloads it: offline, the fallback would be compiling SQLite (minutes).
 */
describe('the npm package, installed from a tarball', () => {
  let work: string;
  let project: string;
  let sim: SimulatorServer;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'syncline-pack-'));
    const tarball = await pack(work);
    const prebuilds = await makePrebuild(work);
    project = join(work, 'project');
    mkdirSync(project);
    writeLockedProject(project, tarball);
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: project,
      env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
    });
    sim = await startSimulator({ seed: 11, datasets: { customers: 150, orders: 80 } });
  }, 180_000);

  afterAll(async () => {
    await sim?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** `npx syncline <args>` in the project; resolves with the exit code and output. */
  async function npx(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run('npx', ['syncline', ...args], {
        cwd: project,
        env: { ...process.env, SYNCLINE_LOG_FORMAT: 'json', API_URL: sim.url },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it('ships the compiled CLI and library, and neither the sources nor the tests', () => {
    const installed = join(project, 'node_modules', 'syncline');
    expect(existsSync(join(installed, 'dist/src/index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist/src/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'examples/demo/syncline.config.yaml'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'test'))).toBe(false);
  });

  it('checks and syncs a YAML config with npx syncline', async () => {
    writeFileSync(
      join(project, 'customers.yaml'),
      `store: customers.db
streams:
  - name: customers
    key: id
    cursor: updated_at
    version: version
    request: { baseUrl: "\${API_URL}", path: /v1/customers }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    incremental: { param: updated_since, lookback: 1h }
`,
    );
    const check = await npx(['--config', 'customers.yaml', 'check', '--probe']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^customers +http +id +updated_at +version/m);
    expect(check.stdout).toContain('customers: 100 records in the first page');
    const sync = await npx(['--config', 'customers.yaml', 'sync', '--json']);
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject([
      { stream: 'customers', status: 'ok', counters: { inserted: 150 } },
    ]);
  }, 180_000);

  it('checks and syncs a TypeScript config that imports from syncline', async () => {
    writeFileSync(
      join(project, 'syncline.config.ts'),
      `import { defineConfig, defineStream, http } from 'syncline';
export default defineConfig({
  store: 'orders.db',
  streams: [
    http.stream({
      name: 'orders',
      key: 'id',
      cursor: 'updated_at',
      request: { baseUrl: process.env.API_URL!, path: '/v1/orders' },
      pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
    }),
    defineStream({
      name: 'numbers',
      key: 'n',
      async *source() {
        yield { records: [{ n: 1 }, { n: 2 }], checkpoint: { done: true } };
      },
    }),
  ],
});
`,
    );
    const check = await npx(['check']);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^numbers +custom +n /m);
    const sync = await npx(['sync', '--json']);
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject([
      { stream: 'orders', status: 'ok', counters: { inserted: 80 } },
      { stream: 'numbers', status: 'ok', counters: { inserted: 2 } },
    ]);
  }, 180_000);
});

/** Packs a copy of this checkout (its `prepare` builds dist/ in the copy); returns the tarball. */
async function pack(work: string): Promise<string> {
  const stage = join(work, 'checkout');
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of stdout.split('\0')) {
    // node_modules (a symlink here, which .gitignore's `node_modules/` does not match) is linked below.
    if (file === '' || file === 'node_modules' || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(stage, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(stage, file));
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(stage, 'node_modules'));
  await run('npm', ['pack', '--pack-destination', work], { cwd: stage });
  const tarball = join(work, `${PACKAGE.name}-${PACKAGE.version}.tgz`);
  expect(existsSync(tarball)).toBe(true);
  return tarball;
}

/** better-sqlite3's prebuilt binary for this Node, as prebuild-install names it; returns its folder. */
async function makePrebuild(work: string): Promise<string> {
  const module = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(module, 'package.json'), 'utf8')) as { version: string };
  const folder = join(work, 'prebuilds');
  mkdirSync(folder);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await run('tar', ['-czf', join(folder, name), '-C', module, 'build/Release/better_sqlite3.node']);
  return folder;
}

/**
 * A project depending on the tarball, with a lockfile: syncline itself, and its dependencies as
 * this checkout's lock pins them (the entries not marked dev-only).
 */
function writeLockedProject(project: string, tarball: string): void {
  const spec = `file:${tarball}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const packages: Record<string, unknown> = {
    '': { name: 'my-sync', dependencies: { syncline: spec } },
    'node_modules/syncline': {
      version: PACKAGE.version,
      resolved: spec,
      integrity,
      license: PACKAGE.license,
      dependencies: PACKAGE.dependencies,
      bin: PACKAGE.bin,
      engines: PACKAGE.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== '' && !entry.dev) packages[path] = entry;
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'my-sync', private: true, dependencies: { syncline: spec } }, null, 2),
  );
  writeFileSync(
    join(project, 'package-lock.json'),
    JSON.stringify({ name: 'my-sync', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
