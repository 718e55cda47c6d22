// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are config text, whose ${NAME} references are the subject.
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDeclarativeFile } from '../../src/config/read-declarative-file.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Logger } from '../../src/core/types.ts';
import { loadProjectConfig } from '../../src/runtime/load-project-config.ts';
import { runStreams } from '../../src/runtime/run-streams.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { makeTestStore } from '../helpers/stores.ts';

/**
 * Every example in README.md and docs/*.md, and every config in examples/, works as written.
 *
 * Fenced blocks are checked by their info string (the word after the fence):
 * - `yaml`, `yml`, `json`: read by the loader's own reader (readDeclarativeFile), with every
 *   `${NAME}` they reference set to the simulator's loopback URL. A block whose top level has
 *   `streams:` is a whole config: loadProjectConfig loads it, and when every stream's
 *   `request.baseUrl` is a `${NAME}` reference (so it can be pointed at the simulator), it is run
 *   against the bundled simulator into a temp SQLite file, and every stream must end `ok` with
 *   records inserted. Secrets it names (`tokenEnv: API_TOKEN`) are set to a dummy value.
 * - `ts`: a block with `export default` is a whole `syncline.config.ts`: written into a temp project
 *   where `import ... from 'syncline'` means this repo's src/index.ts, type-checked by tsc, and loaded
 *   by loadProjectConfig.
 * - Fragments (a piece of a file, not a whole one) say so: the info string is `yaml fragment` or
 *   `ts fragment` (GitHub highlights by the first word, so they render as usual). A YAML/JSON
 *   fragment must parse; a TypeScript fragment must have no syntax error (tsc's TS1xxx), while the
 *   names it uses without defining them are fine. A block neither whole nor marked fails the test.
 * - Other languages (`sh`, `sql`) are not checked.
 *
 * Every file in examples/ is loaded the same way (and a JSON/YAML one run, as above).
 *
 * A block introduced by a line ending in "`examples/<path>`:" shows that file: both must hold the
 * same data. Inline YAML in docs/*.md prose, such as `fetchById: { path: "/v1/customers/{id}" }`,
 * must parse too.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const EXAMPLES = readdirSync(join(ROOT, 'examples'), { recursive: true, encoding: 'utf8' })
  .filter((f) => /\.(ya?ml|json|m?ts|m?js)$/.test(f))
  .map((f) => `examples/${f}`)
  .sort();

interface Block {
  /** `README.md:23`: the file and the line of the opening fence. */
  readonly where: string;
  readonly lang: string;
  readonly fragment: boolean;
  readonly text: string;
  /** The `examples/...` file the block says it shows, if any. */
  readonly shows: string | null;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    const before = lines.slice(0, i).findLast((line) => line.trim() !== '') ?? '';
    blocks.push({
      where: `${file}:${i + 1}`,
      lang: open[1]!,
      fragment: open[2]!.split(/\s+/).includes('fragment'),
      text: `${lines.slice(i + 1, end).join('\n')}\n`,
      shows: /`(examples\/[^`]+)`:$/.exec(before)?.[1] ?? null,
    });
    i = end;
  }
  return blocks;
}

const BLOCKS = DOCS.flatMap(blocksOf);
const DECLARATIVE = BLOCKS.filter((b) => ['yaml', 'yml', 'json'].includes(b.lang));
const TYPESCRIPT = BLOCKS.filter((b) => b.lang === 'ts');

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const work = mkdtempSync(join(tmpdir(), 'syncline-doc-examples-'));
let sim: SimulatorServer;
beforeAll(async () => {
  sim = await startSimulator({
    seed: 3,
    datasets: {
      customers: 300,
      orders: 300,
      candles: { count: 300, symbols: ['BTCUSDT'], intervals: ['1m'] },
    },
  });
});
afterAll(async () => {
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

/** `${NAME}` references of a config text, each set to the simulator's URL. */
function varsFor(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => [m[1]!, sim.url]));
}

let written = 0;
/** Writes a block to a file of its own, with the extension its language loads by. */
function writeBlock(block: Block): string {
  const path = join(work, `block-${written++}.${block.lang === 'json' ? 'json' : 'yaml'}`);
  writeFileSync(path, block.text);
  return path;
}

/** Sets each secret a config names (`tokenEnv: API_TOKEN`, `keyEnv`...) that is not set yet. */
function setNamedSecrets(value: unknown): void {
  if (Array.isArray(value)) for (const item of value) setNamedSecrets(item);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('Env') && typeof v === 'string') process.env[v] ??= 'doc-example-secret';
      else setNamedSecrets(v);
    }
  }
}

/**
 * Loads a JSON/YAML config and, when its every baseUrl is a reference (which `vars` points at the
 * simulator), syncs the simulator with it.
 */
async function loadAndRun(file: string, text: string): Promise<void> {
  const vars = varsFor(text);
  const data = readDeclarativeFile(file, file, vars) as { streams?: { request?: { baseUrl?: string } }[] };
  setNamedSecrets(data);
  const config = await loadProjectConfig({ file, vars });
  expect(config.streams.length).toBeGreaterThan(0);
  if (!data.streams?.every((s) => s.request?.baseUrl === sim.url)) return;
  const t = await makeTestStore('sqlite');
  try {
    const outcomes = await runStreams({ config, store: t.store, events: new SyncEventBus(), log: silent });
    expect(outcomes.map((o) => ({ stream: o.stream, status: o.status, error: o.error }))).toEqual(
      config.streams.map((s) => ({ stream: s.name, status: 'ok', error: null })),
    );
    for (const o of outcomes) expect(o.counters.inserted, o.stream).toBeGreaterThan(0);
  } finally {
    await t.dispose();
  }
}

describe('the YAML and JSON examples of README.md and docs/', () => {
  it('finds them (the demo config, the HTTP guide, fragments)', () => {
    const demo = DECLARATIVE.find(
      (b) => b.where.startsWith('README.md:') && b.text.includes('SYNCLINE_DEMO_API'),
    );
    expect(demo?.shows).toBe('examples/demo/syncline.config.yaml');
    expect(DECLARATIVE.length).toBeGreaterThan(5);
  });

  it.each(DECLARATIVE)('$where parses as written, and is a whole config or marked a fragment', (block) => {
    const data = readDeclarativeFile(writeBlock(block), block.where, varsFor(block.text));
    if (!block.fragment) {
      expect(
        data,
        `${block.where}: not a whole config (no streams:); mark it \`${block.lang} fragment\``,
      ).toHaveProperty('streams');
    }
  });

  it.each(DECLARATIVE.filter((b) => b.shows !== null))(
    '$where holds the same data as the file it shows',
    (block) => {
      const vars = varsFor(block.text);
      const file = join(ROOT, block.shows!);
      expect(readDeclarativeFile(writeBlock(block), block.where, vars)).toEqual(
        readDeclarativeFile(file, block.shows!, { ...varsFor(readFileSync(file, 'utf8')), ...vars }),
      );
    },
  );

  it.each(DECLARATIVE.filter((b) => !b.fragment))(
    '$where loads through loadProjectConfig and syncs the simulator ok',
    async (block) => {
      await loadAndRun(writeBlock(block), block.text);
    },
  );

  it('has only inline YAML in the guides that parses (`fetchById: { path: "/v1/customers/{id}" }`)', () => {
    const inline = DOCS.filter((f) => f.startsWith('docs/')).flatMap((f) =>
      // A line break inside one is a space.
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/`([a-zA-Z.]+: \{[^`]*\})`/g)].map((m) => ({
        where: f,
        lang: 'yaml',
        fragment: true,
        text: `${m[1]!.replace(/\s+/g, ' ')}\n`,
        shows: null,
      })),
    );
    expect(inline.length).toBeGreaterThan(1);
    for (const block of inline) readDeclarativeFile(writeBlock(block), block.where, varsFor(block.text));
  });
});

describe('the configs in examples/', () => {
  it.each(EXAMPLES)('%s loads through loadProjectConfig (and syncs the simulator ok)', async (file) => {
    const path = join(ROOT, file);
    if (/\.(ya?ml|json)$/.test(file)) await loadAndRun(path, readFileSync(path, 'utf8'));
    else expect((await loadProjectConfig({ file: path })).streams.length).toBeGreaterThan(0);
  });
});

describe('the TypeScript examples of README.md and docs/', () => {
  /**
   * A project in a temp dir: `syncline` is a package re-exporting this repo's src/index.ts (for
   * tsx) and a `paths` entry to it (for tsc); zod and the Node types come from this repo.
   */
  const project = join(work, 'ts');
  const files = TYPESCRIPT.map((block, i) => ({
    block,
    path: block.fragment
      ? join(project, `fragment-${i}.ts`)
      : join(project, `config-${i}`, 'syncline.config.ts'),
  }));
  beforeAll(() => {
    const pkg = join(project, 'node_modules', 'syncline');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'syncline', type: 'module', exports: { '.': './index.js' } }),
    );
    writeFileSync(
      join(pkg, 'index.js'),
      `export * from ${JSON.stringify(pathToFileURL(join(ROOT, 'src/index.ts')).href)};\n`,
    );
    symlinkSync(join(ROOT, 'node_modules', 'zod'), join(project, 'node_modules', 'zod'));
    symlinkSync(join(ROOT, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
    const { compilerOptions } = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...compilerOptions, paths: { syncline: [join(ROOT, 'src/index.ts')] } },
        files: files.map((f) => f.path),
      }),
    );
    for (const { block, path } of files) {
      mkdirSync(resolve(path, '..'), { recursive: true });
      // A fragment is made a module, so two fragments' top-level names cannot collide.
      writeFileSync(path, block.fragment ? `${block.text}export {};\n` : block.text);
    }
  });

  it('finds them (the custom source, the HTTP guide, fragments)', () => {
    expect(TYPESCRIPT.filter((b) => !b.fragment).length).toBeGreaterThan(1);
  });

  it.each(TYPESCRIPT)('$where is a whole syncline.config.ts or marked a fragment', (block) => {
    expect(
      block.fragment || /^export default /m.test(block.text),
      `${block.where}: mark it \`ts fragment\``,
    ).toBe(true);
  });

  it('type-checks every whole config, and finds no syntax error in any fragment', async () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const output = await promisify(execFile)(tsc, ['-p', project, '--pretty', 'false']).then(
      (r) => r.stdout,
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    const errors = output
      .split('\n')
      .filter((line) => line.includes('error TS'))
      .map((line) => {
        const file = files.find((f) => line.includes(`/${relative(project, f.path)}(`));
        return { line, file };
      })
      // Fragments use names they do not define; only a syntax error (TS1xxx) is a fault in one.
      .filter(({ line, file }) => !file?.block.fragment || / error TS1\d{3}:/.test(line))
      .map(({ line, file }) => (file ? `${file.block.where}: ${line}` : line));
    expect(errors).toEqual([]);
  }, 60_000);

  it.each(files.filter((f) => !f.block.fragment))(
    '$block.where loads through loadProjectConfig',
    async ({ path }) => {
      const config = await loadProjectConfig({ file: path });
      expect(config.streams.length).toBeGreaterThan(0);
    },
  );
});
