import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { runCli } from './cli-harness.ts';

const TOKEN = 'probe-token-0123456789';

/**
 * A YAML config of two HTTP streams against the simulator, which demands a bearer token (from
 * API_TOKEN): `customers` (cursor pagination, incremental) and `orders` (keyset). `customersKey` and
 * `ordersCursor` let a test name a field the records do not have.
 */
function project(options: { customersKey?: string; ordersCursor?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-check-'));
  writeFileSync(
    join(dir, 'syncline.config.yaml'),
    `streams:
  - name: customers
    key: ${options.customersKey ?? 'id'}
    cursor: updated_at
    version: version
    request: { baseUrl: "\${API_URL}", path: /v1/customers, query: { style: cursor } }
    auth: { type: bearer, tokenEnv: API_TOKEN }
    pagination: { type: cursor, tokenPath: next_cursor, hasMorePath: has_more }
    pageSize: 20
    incremental: { param: updated_since, lookback: 1h }
  - name: orders
    key: id
    cursor: ${options.ordersCursor ?? 'updated_at'}
    version: version
    request: { baseUrl: "\${API_URL}", path: /v1/orders, query: { style: keyset } }
    auth: { type: bearer, tokenEnv: API_TOKEN }
    pagination: { type: keyset, afterIdParam: after_id }
    incremental: {}
`,
  );
  return dir;
}

interface CheckJson {
  readonly streams: {
    readonly name: string;
    readonly source: string;
    readonly key: string[];
    readonly cursor: string | null;
    readonly version: string | null;
    readonly pagination: string | null;
    readonly incremental: string | null;
    readonly probe?: {
      readonly records: number;
      readonly first: { record: Record<string, unknown>; key: string; cursor: string; version: string };
      readonly fields: { role: string; field: string; missing: number }[];
      readonly problems: string[];
    };
  }[];
  readonly problems: string[];
}

describe('syncline check', () => {
  let sim: SimulatorServer;
  const dirs: string[] = [];
  const env = () => ({ API_URL: sim.url, API_TOKEN: TOKEN });
  const dir = (options?: Parameters<typeof project>[0]) => {
    const made = project(options);
    dirs.push(made);
    return made;
  };

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 3,
      datasets: { customers: 60, orders: 60 },
      auth: { bearerTokens: [TOKEN] },
    });
  });
  afterAll(async () => {
    await sim.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('validates every stream and prints each one’s source, key, cursor, version, pagination and incremental reads, creating no store', async () => {
    const cwd = dir();
    const result = await runCli(['check'], cwd, env());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^customers +http +id +updated_at +version +cursor \(next_cursor/m);
    expect(result.stdout).toContain('updated_since from the newest updated_at, lookback 1h');
    expect(result.stdout).toMatch(/^orders +http +id +updated_at +version +keyset \(after_id\)/m);
    expect(result.stdout).toContain('config OK');
    const json = JSON.parse((await runCli(['check', '--json'], cwd, env())).stdout) as CheckJson;
    expect(json.streams.map((s) => [s.name, s.source, s.key, s.cursor, s.version])).toEqual([
      ['customers', 'http', ['id'], 'updated_at', 'version'],
      ['orders', 'http', ['id'], 'updated_at', 'version'],
    ]);
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 180_000);

  it('names a missing environment variable, whether the config uses it in a string or for auth (exit 2)', async () => {
    const cwd = dir();
    const noUrl = await runCli(['check'], cwd, { API_TOKEN: TOKEN });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr.trim().split('\n')).toEqual([
      `syncline: syncline.config.yaml: uses \${API_URL}, but environment variable API_URL is not set`,
    ]);
    const noToken = await runCli(['check', '--probe'], cwd, { API_URL: sim.url });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr.trim().split('\n')).toEqual([
      'syncline: environment variable not set: API_TOKEN (streams "customers", "orders"); set them (see .env.example) and check again',
    ]);
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 180_000);

  it('--probe reads one page of each stream and shows the key, cursor and version of its first record', async () => {
    const cwd = dir();
    const result = await runCli(['check', '--probe', '--json'], cwd, env());
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as CheckJson;
    expect(json.problems).toEqual([]);
    // What the API's first page starts with, asked directly.
    const answer = await fetch(`${sim.url}/v1/customers?style=cursor&limit=20`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const page = (await answer.json()) as {
      data: { id: string; updated_at: string; version: number }[];
    };
    const first = page.data[0]!;
    const customers = json.streams[0]!.probe!;
    expect(customers.records).toBe(20);
    expect(customers.first).toMatchObject({
      key: first.id,
      cursor: first.updated_at,
      version: String(first.version),
      record: { id: first.id },
    });
    expect(customers.fields.every((f) => f.missing === 0)).toBe(true);
    expect(json.streams[1]!.probe!.records).toBeGreaterThan(0);

    const text = await runCli(['check', '--probe', 'customers'], cwd, env());
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('customers: 20 records in the first page (GET ');
    expect(text.stdout).toContain(
      `first record: key id = ${first.id}; cursor updated_at = ${first.updated_at}; version version = ${first.version}`,
    );
    expect(text.stdout).not.toContain('orders:');
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 180_000);

  it('--probe names a key or cursor field the records do not have, and exits 1', async () => {
    const cwd = dir({ customersKey: 'uid', ordersCursor: 'modified_at' });
    const result = await runCli(['check', '--probe'], cwd, env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('first record: key uid = NOT FOUND');
    expect(result.stdout).toContain(
      'PROBLEM: key field "uid" is missing from every record of the first page (its first record has: id, email,',
    );
    expect(result.stdout).toContain('did you mean "id"?');
    expect(result.stdout).toContain(
      'PROBLEM: cursor field "modified_at" is missing from every record of the first page',
    );
    expect(result.stdout).toContain('2 problems found by the probe');
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 180_000);

  it('--probe exits 2, naming it, when a custom source reads a secret that is not set', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'syncline-check-'));
    dirs.push(cwd);
    writeFileSync(
      join(cwd, 'syncline.config.ts'),
      `import { defineConfig, defineStream } from 'syncline';
export default defineConfig({
  streams: [
    defineStream({
      name: 'things',
      key: 'id',
      async *source({ secret }) {
        const token = secret('THINGS_TOKEN_NEVER_SET');
        yield { records: [{ id: token }], checkpoint: null };
      },
    }),
  ],
});
`,
    );
    const result = await runCli(['check', '--probe'], cwd);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^things +custom +id /m);
    expect(result.stderr.trim().split('\n')).toEqual([
      'syncline: stream "things": the source failed before its first page: environment variable ' +
        'THINGS_TOKEN_NEVER_SET is not set; the config needs it for a credential',
    ]);
    expect(readdirSync(cwd)).toEqual(['syncline.config.ts']);
  }, 180_000);
});
