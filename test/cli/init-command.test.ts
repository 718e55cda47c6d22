import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { runCli } from './cli-harness.ts';

const TOKEN = 'starter-token-42';

/** The `NAME=value` lines of an env file (comments and commented-out lines skipped). */
function envFile(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

describe('syncline init', () => {
  let sim: SimulatorServer;
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), 'syncline-init-'));
    dirs.push(made);
    return made;
  };
  beforeAll(async () => {
    // The starters are written for a Stripe-like API, which is the simulator's default list style.
    sim = await startSimulator({
      seed: 5,
      datasets: { customers: 30, orders: 30 },
      auth: { bearerTokens: [TOKEN] },
    });
  });
  afterAll(async () => {
    await sim.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it.each([
    { flags: [], file: 'syncline.config.yaml', comment: '#', streams: ['customers'] },
    { flags: ['--ts'], file: 'syncline.config.ts', comment: '//', streams: ['customers', 'orders'] },
  ])(
    'init $flags writes $file and .env.example that load as written: check passes, and check --probe against an API of that shape',
    async ({ flags, file, comment, streams }) => {
      const cwd = dir();
      const init = await runCli(['init', ...flags], cwd);
      expect(init.code).toBe(0);
      expect(init.stdout).toContain(`wrote ${file} and .env.example`);
      expect(readdirSync(cwd).sort()).toEqual(['.env.example', file]);
      const text = readFileSync(join(cwd, file), 'utf8');
      const example = envFile(readFileSync(join(cwd, '.env.example'), 'utf8'));

      // .env.example lists exactly the variables the config reads.
      const code = text
        .split('\n')
        .filter((line) => !line.trim().startsWith(comment))
        .join('\n');
      const used = new Set([
        ...[...code.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]),
        ...[...code.matchAll(/env\('([A-Z_]+)'\)/g)].map((m) => m[1]),
        ...[...code.matchAll(/(?:tokenEnv:|secret\()\s*'?([A-Z_]+)/g)].map((m) => m[1]),
      ]);
      expect([...used].sort()).toEqual(Object.keys(example).sort());

      // Each choice is explained in a comment.
      const comments = text
        .split('\n')
        .filter((line) => line.trim().startsWith(comment))
        .join('\n');
      for (const word of [
        /SQLite file.*postgres/,
        /identifies a record/,
        /orders records by when they changed/,
        /newer state of the record/,
        /one page leads to the next/,
        /Incremental reads/,
        /environment variable that holds them/,
      ]) {
        expect(comments).toMatch(word);
      }

      // With .env.example's placeholder values, the config is valid as written.
      const checked = await runCli(['check'], cwd, example);
      expect(checked.stderr).toBe('');
      expect(checked.code).toBe(0);
      for (const stream of streams) expect(checked.stdout).toMatch(new RegExp(`^${stream} `, 'm'));

      // Against an API of the shape it was written for, every stream's first page has its fields.
      const probed = await runCli(['check', '--probe'], cwd, { API_URL: sim.url, API_TOKEN: TOKEN });
      expect(probed.stdout).not.toContain('PROBLEM');
      expect(probed.code).toBe(0);
      expect(probed.stdout).toMatch(
        /first record: key id = cus_\d+; cursor updated_at = \S+; version version = \d+/,
      );
      expect(existsSync(join(cwd, 'syncline.db'))).toBe(false);
    },
    180_000,
  );

  it('refuses to overwrite an existing file without --force (exit 2, one line), overwrites with it, and points out a config loaded first', async () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'syncline.config.yaml'), 'store: mine.db\n');
    const refused = await runCli(['init'], cwd);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      'syncline: syncline.config.yaml already exists; pass --force to overwrite, or run init in another directory',
    ]);
    expect(readFileSync(join(cwd, 'syncline.config.yaml'), 'utf8')).toBe('store: mine.db\n');
    expect(existsSync(join(cwd, '.env.example'))).toBe(false);

    const forced = await runCli(['init', '--force'], cwd);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(cwd, 'syncline.config.yaml'), 'utf8')).toContain('name: customers');
    expect(existsSync(join(cwd, '.env.example'))).toBe(true);

    // A config that commands would load first is pointed out.
    writeFileSync(join(cwd, 'syncline.config.ts'), 'export default {};\n');
    const shadowed = await runCli(['init', '--force'], cwd);
    expect(shadowed.code).toBe(0);
    expect(shadowed.stderr).toContain(
      'syncline.config.ts is here too, and commands load it before syncline.config.yaml',
    );

    const both = await runCli(['init', '--yaml', '--ts'], cwd);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe('syncline: init takes --yaml or --ts, not both');
  }, 180_000);
});
