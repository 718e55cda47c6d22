import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-harness.ts';

/**
 * A JSON or YAML config that cannot be read as data: the CLI exits 2 with one error message whose
 * first line says where (`file:line:column`) and what is wrong, then shows the line with a caret
 * under the column. Nothing is run or created.
 */
describe('syncline CLI on a YAML or JSON config it cannot read', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  async function sync(name: string, text: string) {
    dir = mkdtempSync(join(tmpdir(), 'syncline-declarative-'));
    writeFileSync(join(dir, name), text);
    const result = await runCli(['sync'], dir);
    expect(result.code).toBe(2);
    expect(readdirSync(dir)).toEqual([name]);
    return result.stderr.trimEnd();
  }

  const stream = `streams:
  - name: customers
    key: id
    request: { baseUrl: "http://127.0.0.1:8080", path: /v1/customers }
    pagination: { type: cursor }
`;

  it('shows where YAML braces in a flow map break it, with the line and a caret, and what to do', async () => {
    const stderr = await sync(
      'syncline.config.yaml',
      `${stream}    fetchById: { path: /v1/customers/{id}/details }\n`,
    );
    expect(stderr).toBe(
      'syncline: syncline.config.yaml:6:38: not valid YAML: Unexpected flow-map-start at node end ' +
        '(inside { } or [ ], quote a value that holds braces: "/v1/customers/{id}/details")\n' +
        '  6 |     fetchById: { path: /v1/customers/{id}/details }\n' +
        '    |                                      ^',
    );
  }, 60_000);

  it('shows a key given twice at the second one, tabs kept so the caret lines up', async () => {
    const stderr = await sync('syncline.config.yaml', `${stream}    key: name\t# the other key\n`);
    expect(stderr).toBe(
      'syncline: syncline.config.yaml:6:5: not valid YAML: Map keys must be unique\n' +
        '  6 |     key: name\t# the other key\n' +
        '    |     ^',
    );
    const tabbed = await sync('syncline.config.yaml', 'store: a.db\nstreams: [\t"x" y]\n');
    expect(tabbed.split('\n').slice(1)).toEqual(['  2 | streams: [\t"x" y]', '    |           \t    ^']);
  }, 60_000);

  it('points just after the last character when a quote is never closed', async () => {
    const stderr = await sync('syncline.config.yaml', 'store: "syncline.db\n\n');
    expect(stderr).toBe(
      'syncline: syncline.config.yaml:1:20: not valid YAML: Missing closing "quote\n' +
        '  1 | store: "syncline.db\n' +
        '    |                    ^',
    );
  }, 60_000);

  it.each([
    ['syncline.config.yaml', ''],
    ['syncline.config.yaml', '# streams: to come\n\n'],
    ['syncline.config.yml', '---\n'],
    ['syncline.config.json', ' \n'],
  ])(
    'says %s holding %j is an empty config',
    async (name, text) => {
      expect(await sync(name, text)).toBe(`syncline: ${name}: empty config: expected \`streams:\``);
    },
    60_000,
  );

  it.each([
    ['syncline.config.yaml', '- name: customers\n  key: id\n', 'a list'],
    ['syncline.config.yaml', 'streams\n', 'a string'],
    ['syncline.config.json', '[{ "name": "customers" }]', 'a list'],
  ])(
    'says the top level of %s holding %j is not a mapping',
    async (name, text, found) => {
      expect(await sync(name, text)).toBe(
        `syncline: ${name}: the top level is ${found}; expected a mapping with \`streams:\``,
      );
    },
    60_000,
  );

  it('shows where JSON breaks, with the line and a caret', async () => {
    const stderr = await sync(
      'syncline.config.json',
      '{\n  "streams": [\n    { "name": "customers", }\n  ]\n}\n',
    );
    expect(stderr.split('\n')[0]).toMatch(/^syncline: syncline\.config\.json:3:28: not valid JSON: \S/);
    expect(stderr.split('\n').slice(1)).toEqual([
      '  3 |     { "name": "customers", }',
      '    |                            ^',
    ]);
  }, 60_000);
});
