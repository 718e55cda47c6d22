import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, StoreUnavailableError } from '../core/errors.ts';
import { SyncEventBus } from '../core/events.ts';
import { defineStream } from '../core/stream-definition.ts';
import { createRuntime } from './create-runtime.ts';
import { KindRegistry } from './kind-registry.ts';
import { loadProjectConfig } from './load-project-config.ts';
import { SOURCE_KINDS } from './source-kinds.ts';
import { createStore, STORE_KINDS } from './store-kinds.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-runtime-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const items = defineStream({
  name: 'items',
  key: 'id',
  async *source() {
    yield { records: [{ id: 1 }, { id: 2 }], checkpoint: { done: true } };
  },
});

describe('the composition root', () => {
  it('builds the config, opens the store once, runs streams on it, and closes it', async () => {
    const store = join(tempDir(), 'syncline.db');
    const runtime = createRuntime({ config: { code: { streams: [items] } }, store });
    expect((await runtime.config()).store).toBe(store);
    const [outcome] = await runtime.run({ events: new SyncEventBus() });
    expect(outcome).toMatchObject({
      stream: 'items',
      status: 'ok',
      counters: expect.objectContaining({ inserted: 2 }),
    });
    expect(await runtime.store()).toBe(await runtime.store('read'));
    expect((await (await runtime.store()).listStreams()).map((s) => s.records)).toEqual([2]);
    await runtime.close();
    await runtime.close();
  });

  it('reads a store without a config file when allowed, and never creates one that is missing', async () => {
    const dir = tempDir();
    const missing = createRuntime({
      config: { load: { cwd: dir } },
      store: join(dir, 'typo.db'),
      configOptional: true,
    });
    expect(missing.hasConfig()).toBe(false);
    await expect(missing.store('read')).rejects.toBeInstanceOf(StoreUnavailableError);
    const required = createRuntime({ config: { load: { cwd: dir } } });
    await expect(required.store('read')).rejects.toThrow(/no syncline\.config\.ts in/);
  });
});

describe('registries of kinds', () => {
  it('name the known kinds when asked for an unknown one, and refuse a kind registered twice', () => {
    const registry = new KindRegistry<{ kind: string }>('sink kind').register({ kind: 'sse' });
    expect(() => registry.get('kafka')).toThrow(new ConfigError('unknown sink kind "kafka"; known: sse'));
    expect(() => registry.register({ kind: 'sse' })).toThrow(/registered twice/);
    expect(SOURCE_KINDS.names()).toEqual(['http', 'webhook', 'websocket', 'cdc', 'broker', 'file']);
    expect(STORE_KINDS.names()).toEqual(['postgres', 'sqlite']);
  });

  it('build a store of the kind a location names, and refuse a location no kind takes', async () => {
    expect((await createStore('postgres://u@127.0.0.1/db?schema=s')).capabilities.kind).toBe('postgres');
    expect((await createStore('sqlite:x.db')).capabilities.kind).toBe('sqlite');
    expect((await createStore('x.db')).capabilities.kind).toBe('sqlite');
    await expect(createStore('mysql://u@h/db')).rejects.toThrow(
      new StoreUnavailableError(
        'unsupported store "mysql://...": use a SQLite file path (e.g. syncline.db) or a postgres:// URL',
      ),
    );
  });

  it('check a declarative stream against the source kind its type names', async () => {
    const dir = tempDir();
    const file = join(dir, 'syncline.config.yaml');
    writeFileSync(file, 'streams:\n  - name: hooks\n    type: kafka\n    key: id\n');
    await expect(loadProjectConfig({ file, cwd: dir })).rejects.toThrow(
      new ConfigError(
        'syncline.config.yaml: stream "hooks" (streams[0]): type: unknown source kind "kafka"; known: http, webhook, websocket, cdc, broker, file',
      ),
    );
    writeFileSync(file, 'streams:\n  - name: hooks\n    type: webhook\n    key: id\n');
    await expect(loadProjectConfig({ file, cwd: dir })).rejects.toThrow(/streams\[0\]\): webhook: /);
    writeFileSync(
      file,
      'streams:\n  - name: hooks\n    type: http\n    key: id\n    pagination: { type: link }\n',
    );
    await expect(loadProjectConfig({ file, cwd: dir })).rejects.toThrow(/streams\[0\]\): request: /);
  });

  it('read a shared rate limit of a declarative HTTP stream, and refuse one that is not a boolean', async () => {
    const dir = tempDir();
    const file = join(dir, 'syncline.config.yaml');
    const yaml = (shared: string) =>
      'streams:\n  - name: people\n    key: id\n' +
      '    request: { baseUrl: "https://api.example.com", path: /v1/people }\n' +
      `    pagination: { type: link }\n    rateLimit: { requestsPerSecond: 10, shared: ${shared} }\n`;
    writeFileSync(file, yaml('true'));
    const config = await loadProjectConfig({ file, cwd: dir });
    expect(config.streams.map((s) => s.name)).toEqual(['people']);
    writeFileSync(file, yaml('"yes"'));
    await expect(loadProjectConfig({ file, cwd: dir })).rejects.toThrow(
      /stream "people" \(streams\[0\]\): rateLimit\.shared: /,
    );
  });
});
