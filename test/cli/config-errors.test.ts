import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { INDEX, runCli } from './cli-harness.ts';

/** A working list API (one empty page), so a config that slips through would sync and exit 0. */
let api: Server;
let apiUrl: string;
beforeAll(async () => {
  api = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ data: [], has_more: false }));
  });
  await new Promise<void>((done) => api.listen(0, '127.0.0.1', done));
  apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((done) => api.close(done));
});

describe('syncline CLI on a config it cannot run', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  function project(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'syncline-config-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  const yamlStream = (extra = '') => `streams:
  - name: people
    key: id
    request:
      baseUrl: "${apiUrl}"
      path: /people${extra}
    pagination: { type: cursor, hasMorePath: has_more }
`;

  it('refuses a top-level typo in YAML with exit 2 and one line, and creates no store', async () => {
    const cwd = project({ 'syncline.config.yaml': `stor: wanted.db\n${yamlStream()}` });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.yaml: stor: unknown key; did you mean "store"?',
    );
    expect(result.code).toBe(2);
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 60_000);

  it('refuses a typo nested in a YAML stream, naming the stream and the key', async () => {
    const cwd = project({ 'syncline.config.yaml': yamlStream('\n      timeotMs: 5000') });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.yaml: stream "people" (streams[0]): request.timeotMs: unknown key; ' +
        'did you mean "timeoutMs"?',
    );
    expect(result.code).toBe(2);
    expect(existsSync(join(cwd, 'syncline.db'))).toBe(false);
  }, 60_000);

  it.each([
    ['ftp://files.example.com', 'must be an http:// or https:// URL; fetch cannot get a "ftp:" URL'],
    [
      'http://127.0.0.1:6000',
      'port 6000 is one fetch refuses to connect to (a port of another protocol, on the WHATWG fetch ' +
        'standard\'s "bad ports" list); use the port the API is served on',
    ],
  ])(
    'refuses a baseUrl fetch can never get (%s) before any request',
    async (baseUrl, problem) => {
      const cwd = project({ 'syncline.config.yaml': yamlStream().replace(apiUrl, baseUrl) });
      const result = await runCli(['sync'], cwd);
      expect(result.stderr.trim()).toBe(
        `syncline: syncline.config.yaml: stream "people" (streams[0]): request.baseUrl: ${problem}`,
      );
      expect(result.code).toBe(2);
    },
    60_000,
  );

  it('names every environment variable a YAML config uses that is not set, in one line', async () => {
    const cwd = project({
      'syncline.config.yaml': `streams:
  - name: people
    key: id
    request: { baseUrl: "\${PEOPLE_API_URL}", path: "/\${PEOPLE_API_VERSION}/people" }
    pagination: { type: cursor, hasMorePath: has_more }
`,
    });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      `syncline: syncline.config.yaml: uses \${PEOPLE_API_URL}, \${PEOPLE_API_VERSION}, but environment ` +
        'variables PEOPLE_API_URL, PEOPLE_API_VERSION are not set',
    );
    expect(result.code).toBe(2);
    expect(readdirSync(cwd)).toEqual(['syncline.config.yaml']);
  }, 60_000);

  it('says where a TypeScript config has a syntax error', async () => {
    const cwd = project({
      'syncline.config.ts':
        "import { defineConfig } from 'syncline';\nexport default defineConfig({{ streams: [] });\n",
    });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.ts: could not be loaded: line 2, column 29: Expected identifier but found "{"',
    );
    expect(result.code).toBe(2);
  }, 60_000);

  it('refuses a typo in a JSON config too', async () => {
    const config = {
      streams: [
        {
          name: 'people',
          key: 'id',
          request: { baseUrl: apiUrl, path: '/people' },
          pagination: { type: 'keyset', afterIdParm: 'after_id' },
          cursor: 'updated_at',
          incremental: {},
        },
      ],
    };
    const cwd = project({ 'syncline.config.json': JSON.stringify(config) });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.json: stream "people" (streams[0]): pagination.afterIdParm: unknown key; ' +
        'did you mean "afterIdParam"?',
    );
    expect(result.code).toBe(2);
  }, 60_000);

  it('refuses a typo in http.stream({...}) in a TypeScript config, with exit 2 and no store', async () => {
    const cwd = project({
      'syncline.config.ts': `import { defineConfig, http } from ${JSON.stringify(INDEX)};
export default defineConfig({
  streams: [
    http.stream({
      name: 'people',
      key: 'id',
      cursr: 'updated_at',
      request: { baseUrl: ${JSON.stringify(apiUrl)}, path: '/people' },
      pagination: { type: 'cursor', hasMorePath: 'has_more' },
    } as Parameters<typeof http.stream>[0]),
  ],
});
`,
    });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.ts: stream "people": cursr: unknown key; did you mean "cursor"?',
    );
    expect(result.code).toBe(2);
    expect(readdirSync(cwd)).toEqual(['syncline.config.ts']);
  }, 60_000);

  it('refuses a typo in defineStream({...}) in a TypeScript config', async () => {
    const cwd = project({
      'syncline.config.ts': `import { defineConfig, defineStream } from ${JSON.stringify(INDEX)};
const people = { name: 'people', key: 'id', histroy: true, async *source() {} };
export default defineConfig({ streams: [defineStream(people)] });
`,
    });
    const result = await runCli(['sync'], cwd);
    expect(result.stderr.trim()).toBe(
      'syncline: syncline.config.ts: stream "people" (streams[0]): histroy: unknown key; did you mean "history"?',
    );
    expect(result.code).toBe(2);
  }, 60_000);
});
