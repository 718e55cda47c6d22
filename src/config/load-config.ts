import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDuration } from '../core/cursor-time.ts';
import type { Destination, DestinationMode } from '../core/destination.ts';
import type { DestinationOperations, RecordMapSpec } from '../core/destination-spec.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { StreamSchedule } from '../core/schedule.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import { viewColumns } from '../core/view-columns.ts';
import { validateConfig } from './config-schema.ts';
import type {
  DestinationSettings,
  SinkEventKind,
  SinkSettings,
  SynclineConfig,
  SyncSettings,
} from './define-config.ts';
import { resolveRunningSyncline } from './resolve-running-syncline.ts';
import { resolveStreamSchedules } from './resolve-schedules.ts';
import { columnsFromSchema } from './schema-columns.ts';

/** File names tried, in order, when no `--config` is given. */
export const CONFIG_FILES = [
  'syncline.config.ts',
  'syncline.config.mts',
  'syncline.config.js',
  'syncline.config.mjs',
  'syncline.config.yaml',
  'syncline.config.yml',
  'syncline.config.json',
];

/** Config files in plain data (no code): JSON or YAML. */
export function isDeclarativeConfig(path: string): boolean {
  return /\.(json|ya?ml)$/i.test(path);
}

/** The default SQLite file, in the working directory. */
export const DEFAULT_STORE = 'syncline.db';

/** A config ready to run: validated, its store location resolved, frozen. */
export interface ResolvedConfig {
  /** The file it came from, relative to the working directory (for messages). */
  readonly file: string;
  readonly store: string;
  readonly streams: SynclineConfig['streams'];
  readonly sync: Required<Omit<SyncSettings, 'maxRunDurationMs' | 'retry'>> &
    Pick<SyncSettings, 'maxRunDurationMs' | 'retry'>;
  /** The change log's retention window (`changes.retention`), in ms. */
  readonly changes: { readonly retentionMs: number };
  /** `syncline run`'s settings (`service`), defaults applied. */
  readonly service: {
    readonly listen: string;
    readonly shutdownTimeoutMs: number;
    /** `service.workerTimeout`: a cluster worker without a heartbeat for this long is taken for dead. */
    readonly workerTimeoutMs: number;
    readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  };
  /** One per stream, in the order of `streams`: when `syncline run` syncs and reconciles it. */
  readonly schedules: readonly StreamSchedule[];
  /** The sinks (`sinks`), defaults applied; empty when none. */
  readonly sinks: readonly ResolvedSink[];
  readonly destinations: readonly ResolvedDestination[];
}

/** What every resolved destination has. */
interface ResolvedDestinationCommon {
  readonly name: string;
  readonly streams: readonly string[];
  readonly mode: DestinationMode;
  readonly batchSize: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly pauseAfterMs: number;
}

/** An HTTP destination ready to build: durations in ms, defaults applied, its token not read yet. */
export interface ResolvedHttpDestination extends ResolvedDestinationCommon {
  readonly type: 'http';
  readonly baseUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly tokenEnv: string | null;
  readonly map: RecordMapSpec;
  readonly operations: DestinationOperations;
  readonly idempotencyHeader: string;
  readonly concurrency: number;
  readonly rateLimit: number | null;
  readonly timeoutMs: number;
  readonly allowPrivateTargets: boolean;
}

/** A custom destination (TypeScript): its `write` object, and the map (null: the record as it is). */
export interface ResolvedCustomDestination extends ResolvedDestinationCommon {
  readonly type: 'custom';
  readonly destination: Destination;
  readonly map: RecordMapSpec | null;
}

export type ResolvedDestination = ResolvedHttpDestination | ResolvedCustomDestination;

/** A destination's defaults. */
export const DEFAULT_DESTINATION = {
  mode: 'upsert',
  idempotencyHeader: 'Idempotency-Key',
  batchSize: 50,
  concurrency: 4,
  timeout: '30s',
  retry: { base: '1s', max: '5m' },
  pauseAfter: '15m',
} as const;

/** A sink ready to build, by `type`: durations in ms, defaults applied. */
export type ResolvedSink = ResolvedWebhookSink | ResolvedRedisSink | ResolvedNatsSink | ResolvedSseSink;

/** The sinks a runner delivers to (`syncline sinks run`, and inside `syncline run`): all but sse. */
export type ResolvedDeliveringSink = ResolvedWebhookSink | ResolvedRedisSink | ResolvedNatsSink;

/** The sse sink: served by `syncline run` at `GET /v1/events`, no runner, no offset. */
export interface ResolvedSseSink {
  readonly type: 'sse';
  readonly name: string;
  /** Empty: every stream. */
  readonly streams: readonly string[];
  /** Empty: the record changes (every kind but `run`). */
  readonly kinds: readonly SinkEventKind[];
  readonly data: boolean;
  readonly heartbeatMs: number;
  readonly maxBuffered: number;
  readonly maxClients: number;
}

/** The sse sink's defaults. */
export const DEFAULT_SSE_SINK = {
  heartbeat: '15s',
  maxBuffered: 1000,
  maxClients: 100,
} as const;

/** What the runner needs of every sink, whatever its kind. */
export interface ResolvedSinkCommon {
  readonly name: string;
  readonly streams: readonly string[];
  /** Empty: the record changes (every kind but `run`). */
  readonly kinds: readonly SinkEventKind[];
  readonly data: boolean;
  readonly batchSize: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly pauseAfterMs: number;
}

/** A webhook sink: URLs a list, the secret still in its variable. */
export interface ResolvedWebhookSink extends ResolvedSinkCommon {
  readonly type: 'webhook';
  readonly urls: readonly string[];
  readonly secretEnv: string;
  readonly timeoutMs: number;
  readonly rateLimit: number | null;
  readonly allowPrivateTargets: boolean;
}

/** A Redis Streams sink. `url` may hold a password: print it only through `redactUrl`. */
export interface ResolvedRedisSink extends ResolvedSinkCommon {
  readonly type: 'redis';
  readonly url: string;
  /** The Redis stream key template (`{stream}`: the Syncline stream). */
  readonly keyTemplate: string;
  /** `MAXLEN ~ n` on every XADD; null: no trimming. */
  readonly maxLen: number | null;
}

/** A NATS JetStream sink. `url` may hold a password: print it only through `redactUrl`. */
export interface ResolvedNatsSink extends ResolvedSinkCommon {
  readonly type: 'nats';
  readonly url: string;
  /** The subject template (`{stream}`, `{kind}`). */
  readonly subjectTemplate: string;
  /** Credentials, still in their variables (read when the sink is built); null: none. */
  readonly auth:
    | { readonly tokenEnv: string }
    | { readonly userEnv: string; readonly passwordEnv: string }
    | null;
  readonly ackTimeoutMs: number;
  /** The JetStream stream to create when absent; null: it must exist. */
  readonly createStream: {
    readonly name: string;
    readonly subjects: readonly string[];
    readonly maxAgeMs: number | null;
    readonly duplicateWindowMs: number | null;
  } | null;
}

/** A NATS sink's defaults: the local server, one subject per stream and kind, batches of 100. */
export const DEFAULT_NATS_SINK = {
  url: 'nats://127.0.0.1:4222',
  subject: 'syncline.{stream}.{kind}',
  timeout: '5s',
  batchSize: 100,
  retry: { base: '1s', max: '5m' },
  pauseAfter: '15m',
} as const;

/** A Redis Streams sink's defaults: batches of 100 (one MULTI each), keys `syncline:<stream>`. */
export const DEFAULT_REDIS_SINK = {
  batchSize: 100,
  stream: 'syncline:{stream}',
  retry: { base: '1s', max: '5m' },
  pauseAfter: '15m',
} as const;

/** A webhook sink's defaults. */
export const DEFAULT_WEBHOOK_SINK = {
  batchSize: 1,
  timeout: '10s',
  retry: { base: '1s', max: '5m' },
  pauseAfter: '15m',
} as const;

/** `changes.retention`'s default: a week. */
export const DEFAULT_CHANGE_RETENTION = '7d';

/** `service`'s defaults: the API on this machine only, 30 s to stop, backoff from 5 s to 15 min. */
export const DEFAULT_SERVICE = {
  listen: '127.0.0.1:7373',
  shutdownTimeout: '30s',
  workerTimeout: '30s',
  backoff: { base: '5s', max: '15m' },
} as const;

export interface LoadOptions {
  /** `--config`; otherwise `CONFIG_FILES` in `cwd`. */
  readonly file?: string;
  /** `--store`, which wins over the environment and the file. */
  readonly store?: string;
  readonly cwd?: string;
  /** Values for `${NAME}` in JSON/YAML configs, before the environment. */
  readonly vars?: Readonly<Record<string, string>>;
  /**
   * The module a bare `syncline` import in a code config resolves to (running-syncline-hooks.mjs
   * says why), or null for the usual resolution (a `node_modules/syncline` beside the config).
   * Default: `RUNNING_SYNCLINE` when this copy is compiled JavaScript, which Node always loads;
   * null when it runs as TypeScript sources, for then only the caller knows whether Node can load
   * them (the CLI can, and passes `RUNNING_SYNCLINE`: bin/syncline.mjs runs the sources under tsx's
   * global loader; a test runner's own transform could not).
   */
  readonly syncline?: string | null;
}

/** The entry module of the copy of Syncline running this code: `src/index.ts`, or `dist/src/index.js`. */
export const RUNNING_SYNCLINE = new URL(
  import.meta.url.endsWith('.ts') ? '../index.ts' : '../index.js',
  import.meta.url,
).href;

/** Finds, imports (TypeScript without a build step) and validates the config file. */
export async function loadConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const path = findConfigFile(cwd, options.file);
  const shown = relative(cwd, path) || path;
  if (isDeclarativeConfig(path)) {
    throw new ConfigError(
      `${shown}: a JSON/YAML config is loaded by loadProjectConfig (runtime), not loadConfig`,
    );
  }
  let module: { default?: unknown };
  try {
    const syncline = options.syncline === undefined ? defaultSyncline() : options.syncline;
    module = await importCode(path, syncline);
  } catch (error) {
    // A ConfigError the config threw while it was evaluated (`http.stream({...})` checks its
    // object) already says what is wrong. (It may come from another copy of Syncline the config
    // imported, which instanceof recognises too: see core/errors.ts.)
    if (error instanceof ConfigError) {
      throw new ConfigError(`${shown}: ${error.message}`, { cause: error });
    }
    throw new ConfigError(`${shown}: could not be loaded: ${loadProblem(error)}`, { cause: error });
  }
  const exported = unwrapDefault(module);
  if (exported === undefined) {
    throw new ConfigError(
      `${shown}: has no default export; end it with \`export default defineConfig({ ... })\``,
    );
  }
  return resolveConfig(validateConfig(exported, shown), shown, options.store);
}

/**
 * What went wrong loading a code config, in one line. A syntax error comes from esbuild (in tsx) as
 * "Transform failed with 1 error:" with where and what on the next line: that line is the news.
 */
function loadProblem(error: unknown): string {
  const [first, next] = error instanceof Error ? error.message.split('\n') : [];
  const at = next === undefined ? null : /:(\d+):(\d+): ERROR: (.*)$/.exec(next);
  if (first !== undefined && /^Transform failed with \d+ errors?:$/.test(first) && at) {
    return `line ${at[1]}, column ${at[2]}: ${at[3]}`;
  }
  return describeError(error);
}

/** `LoadOptions.syncline`'s default. */
function defaultSyncline(): string | null {
  return RUNNING_SYNCLINE.endsWith('.js') ? RUNNING_SYNCLINE : null;
}

/**
 * Imports a code config through tsx (TypeScript without a build step), in a tsx namespace of its
 * own, so that loading a file again evaluates it again. With `syncline`, a bare `syncline` import in
 * the config resolves to that module (see resolve-running-syncline.ts): not a copy, but the module
 * already loaded.
 *
 * A CommonJS config (a `.ts` in a package without `"type": "module"`, npm's default, or `.cts`) is
 * required through tsx's CommonJS loader alone, which is what tsx's `tsImport` ends up doing with
 * it anyway (it compiles it to CommonJS); an ES module config is imported through tsx's ES module
 * loader too (with its CommonJS one, for what it requires), as `tsImport` does.
 *
 * Start-up to the first "run started", in ms (medians of 7-9 runs, the variants interleaved, on
 * this 2-core machine while others used it, load 2-3.5; a one-stream config; before: main at
 * 7a03177, which loaded the config with `tsImport`):
 *
 * | CLI from | YAML config | TS config before | TS now, CommonJS config | TS now, ES module config |
 * | -------- | ----------- | ---------------- | ----------------------- | ------------------------ |
 * | dist/    | 630-680     | 1,955            | 757                     | 959                      |
 * | src/     | 740-790     | 1,482            | 881                     | 825                      |
 *
 * Before, tsx loaded and compiled a second whole copy of Syncline for the config's import (of the
 * package installed beside it from dist/; by path from src/). With the running copy alone, a
 * CommonJS config from dist/ took ~1,050 ms: Node's loader thread and tsx's ES module hooks in it
 * (~40 + ~150 ms: Node 20 has no in-thread module hooks), which it does not need; an ES module
 * config still pays for them. From src/, bin/syncline.mjs has already paid for them.
 */
async function importCode(path: string, syncline: string | null): Promise<{ default?: unknown }> {
  const namespace = randomUUID();
  if (isCommonJs(path)) {
    const cjs = await import('tsx/cjs/api');
    const scope = cjs.register({ namespace });
    if (syncline !== null) await resolveRunningSyncline(syncline, { imports: false });
    // As an import of it would see it: `module.exports` is the default export (unwrapDefault takes
    // the `default` of a compiled `export default` out of it).
    return { default: scope.require(path, import.meta.url) as unknown };
  }
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  cjs.register({ namespace });
  const scope = esm.register({ namespace });
  if (syncline !== null) await resolveRunningSyncline(syncline, { imports: true });
  return (await scope.import(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
}

/**
 * Whether Node (and tsx) treat the file as CommonJS: `.cts`/`.cjs`, or `.ts`/`.js` whose nearest
 * package.json does not say `"type": "module"` (none at all counts as CommonJS, as in Node).
 */
function isCommonJs(path: string): boolean {
  if (/\.c[jt]s$/i.test(path)) return true;
  if (!/\.[jt]s$/i.test(path)) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type !== 'module';
      } catch {
        return true;
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

/** Validates and resolves a config given in code (the library's way in). */
export function resolveConfig(config: SynclineConfig, file = '<code>', storeFlag?: string): ResolvedConfig {
  validateConfig(config, file);
  return Object.freeze({
    file,
    store: resolveStore(storeFlag, config.store),
    streams: Object.freeze(config.streams.map((stream) => withColumns(stream, file))),
    sync: Object.freeze({
      maxPagesInFlight: config.sync?.maxPagesInFlight ?? 4,
      concurrency: config.sync?.concurrency ?? 4,
      leaseTtlMs: config.sync?.leaseTtlMs ?? 30_000,
      ...(config.sync?.maxRunDurationMs !== undefined
        ? { maxRunDurationMs: config.sync.maxRunDurationMs }
        : {}),
      ...(config.sync?.retry ? { retry: config.sync.retry } : {}),
    }),
    changes: Object.freeze({
      retentionMs: parseDuration(config.changes?.retention ?? DEFAULT_CHANGE_RETENTION),
    }),
    service: resolveService(config, file),
    schedules: Object.freeze(resolveStreamSchedules(config.streams, config.service?.schedule)),
    sinks: Object.freeze((config.sinks ?? []).map((sink) => resolveSink(sink, file))),
    destinations: Object.freeze((config.destinations ?? []).map((d) => resolveDestination(d, file))),
  });
}

function resolveDestination(d: DestinationSettings, file: string): ResolvedDestination {
  const baseMs = parseDuration(d.retry?.base ?? DEFAULT_DESTINATION.retry.base);
  const maxMs = parseDuration(d.retry?.max ?? DEFAULT_DESTINATION.retry.max);
  if (maxMs < baseMs) {
    throw new ConfigError(
      `${file}: destination "${d.name}": retry.max: must be at least retry.base (${baseMs} ms); raise max or lower base`,
    );
  }
  const common = {
    name: d.name,
    streams: Object.freeze([...d.streams]),
    mode: d.mode ?? DEFAULT_DESTINATION.mode,
    batchSize: d.batchSize ?? DEFAULT_DESTINATION.batchSize,
    retry: Object.freeze({ baseMs, maxMs }),
    pauseAfterMs: parseDuration(d.pauseAfter ?? DEFAULT_DESTINATION.pauseAfter),
  };
  if (d.type === 'custom') {
    return Object.freeze({ ...common, type: d.type, destination: d.destination, map: d.map ?? null });
  }
  return Object.freeze({
    ...common,
    type: d.type,
    baseUrl: d.baseUrl,
    headers: Object.freeze({ ...(d.headers ?? {}) }),
    tokenEnv: d.tokenEnv ?? null,
    map: d.map,
    operations: Object.freeze({
      ...(d.create ? { create: d.create } : {}),
      ...(d.update ? { update: d.update } : {}),
      ...(d.find ? { find: d.find } : {}),
      ...(d.delete ? { delete: d.delete } : {}),
      ...(d.batch ? { batch: d.batch } : {}),
    }),
    idempotencyHeader: d.idempotencyHeader ?? DEFAULT_DESTINATION.idempotencyHeader,
    concurrency: d.concurrency ?? DEFAULT_DESTINATION.concurrency,
    rateLimit: d.rateLimit ?? null,
    timeoutMs: parseDuration(d.timeout ?? DEFAULT_DESTINATION.timeout),
    allowPrivateTargets: d.allowPrivateTargets ?? false,
  });
}

function resolveSink(sink: SinkSettings, file: string): ResolvedSink {
  if (sink.type === 'sse') {
    return Object.freeze({
      type: sink.type,
      name: sink.name,
      streams: Object.freeze([...(sink.streams ?? [])]),
      kinds: Object.freeze([...(sink.kinds ?? [])]),
      data: sink.data ?? true,
      heartbeatMs: parseDuration(sink.heartbeat ?? DEFAULT_SSE_SINK.heartbeat),
      maxBuffered: sink.maxBuffered ?? DEFAULT_SSE_SINK.maxBuffered,
      maxClients: sink.maxClients ?? DEFAULT_SSE_SINK.maxClients,
    });
  }
  const d =
    sink.type === 'redis'
      ? DEFAULT_REDIS_SINK
      : sink.type === 'nats'
        ? DEFAULT_NATS_SINK
        : DEFAULT_WEBHOOK_SINK;
  const baseMs = parseDuration(sink.retry?.base ?? d.retry.base);
  const maxMs = parseDuration(sink.retry?.max ?? d.retry.max);
  if (maxMs < baseMs) {
    throw new ConfigError(
      `${file}: sink "${sink.name}": retry.max: must be at least retry.base (${baseMs} ms); raise max or lower base`,
    );
  }
  const common = {
    name: sink.name,
    streams: Object.freeze([...(sink.streams ?? [])]),
    kinds: Object.freeze([...(sink.kinds ?? [])]),
    data: sink.data ?? true,
    batchSize: sink.batchSize ?? d.batchSize,
    retry: Object.freeze({ baseMs, maxMs }),
    pauseAfterMs: parseDuration(sink.pauseAfter ?? d.pauseAfter),
  };
  if (sink.type === 'redis') {
    return Object.freeze({
      ...common,
      type: sink.type,
      url: sink.url,
      keyTemplate: sink.stream ?? DEFAULT_REDIS_SINK.stream,
      maxLen: sink.maxLen ?? null,
    });
  }
  if (sink.type === 'nats') {
    const subjectTemplate = sink.subject ?? DEFAULT_NATS_SINK.subject;
    const create = sink.createStream;
    const filter = natsSubjectFilter(subjectTemplate);
    if (create?.subjects && !create.subjects.some((subject) => natsSubjectCovers(subject, filter))) {
      throw new ConfigError(
        `${file}: sink "${sink.name}": createStream.subjects: none captures the sink's subjects (${filter}); add one such as ${filter.split('.')[0]}.>`,
      );
    }
    return Object.freeze({
      ...common,
      type: sink.type,
      url: sink.url ?? DEFAULT_NATS_SINK.url,
      subjectTemplate,
      auth:
        sink.tokenEnv !== undefined
          ? Object.freeze({ tokenEnv: sink.tokenEnv })
          : sink.userEnv !== undefined && sink.passwordEnv !== undefined
            ? Object.freeze({ userEnv: sink.userEnv, passwordEnv: sink.passwordEnv })
            : null,
      ackTimeoutMs: parseDuration(sink.timeout ?? DEFAULT_NATS_SINK.timeout),
      createStream: create
        ? Object.freeze({
            name: create.name,
            subjects: Object.freeze([...(create.subjects ?? [filter])]),
            maxAgeMs: create.maxAge !== undefined ? parseDuration(create.maxAge) : null,
            duplicateWindowMs:
              create.duplicateWindow !== undefined ? parseDuration(create.duplicateWindow) : null,
          })
        : null,
    });
  }
  return Object.freeze({
    ...common,
    type: sink.type,
    urls: Object.freeze(typeof sink.url === 'string' ? [sink.url] : [...sink.url]),
    secretEnv: sink.secretEnv,
    timeoutMs: parseDuration(sink.timeout ?? DEFAULT_WEBHOOK_SINK.timeout),
    rateLimit: sink.rateLimit ?? null,
    allowPrivateTargets: sink.allowPrivateTargets ?? false,
  });
}

function resolveService(config: SynclineConfig, file: string): ResolvedConfig['service'] {
  const service = config.service;
  const baseMs = parseDuration(service?.backoff?.base ?? DEFAULT_SERVICE.backoff.base);
  const maxMs = parseDuration(service?.backoff?.max ?? DEFAULT_SERVICE.backoff.max);
  if (maxMs < baseMs) {
    throw new ConfigError(
      `${file}: service.backoff.max: must be at least service.backoff.base (${baseMs} ms); raise max or lower base`,
    );
  }
  return Object.freeze({
    listen: service?.listen ?? DEFAULT_SERVICE.listen,
    shutdownTimeoutMs: parseDuration(service?.shutdownTimeout ?? DEFAULT_SERVICE.shutdownTimeout),
    workerTimeoutMs: parseDuration(service?.workerTimeout ?? DEFAULT_SERVICE.workerTimeout),
    backoff: Object.freeze({ baseMs, maxMs }),
  });
}

/**
 * The stream with its typed view's columns: its own `columns`, else those of its zod `schema`
 * (`columnsFromSchema`); checked here, so a bad column name is a config error naming the file.
 */
function withColumns(stream: AnyStreamDefinition, file: string): AnyStreamDefinition {
  const columns = stream.columns ?? (stream.schema ? columnsFromSchema(stream.schema) : null);
  if (!columns) return stream;
  try {
    viewColumns(stream.name, columns);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
  return columns === stream.columns ? stream : { ...stream, columns };
}

/** `--store` flag, then `SYNCLINE_STORE`, then the config file's `store`, then `syncline.db`. */
export function resolveStore(flag?: string, fromFile?: string): string {
  return flag || process.env['SYNCLINE_STORE'] || fromFile || DEFAULT_STORE;
}

export function findConfigFile(cwd: string, file?: string): string {
  if (file) {
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    if (!existsSync(path)) throw new ConfigError(`config file ${file} does not exist`);
    return path;
  }
  for (const name of CONFIG_FILES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigError(
    `no syncline.config.ts in ${cwd}; create one (see README "Configuration"), pass --config <file>, ` +
      'or try `syncline demo`',
  );
}

/** tsx may wrap a CommonJS-style default twice (`{ default: { default: config } }`). */
function unwrapDefault(module: { default?: unknown }): unknown {
  let value = module.default;
  if (value && typeof value === 'object' && 'default' in value && !('streams' in value)) {
    value = (value as { default: unknown }).default;
  }
  return value;
}

/** Whether logs should be JSON: `--log-format`, else `SYNCLINE_LOG_FORMAT`, else pretty on a TTY. */
export function resolveLogFormat(flag: string | undefined, isTty: boolean): 'json' | 'pretty' {
  const value = flag ?? process.env['SYNCLINE_LOG_FORMAT'];
  if (value === 'json' || value === 'pretty') return value;
  if (value !== undefined)
    throw new ConfigError(`--log-format must be "json" or "pretty", got ${JSON.stringify(value)}`);
  return isTty ? 'pretty' : 'json';
}

/**
 * Whether to colour what goes to an output stream (`isTty`: that stream is a terminal).
 * `FORCE_COLOR` set to anything but an empty string colours even when piped, except `0` and
 * `false`, which turn colours off; when set it wins over `NO_COLOR` (as in Node and most CLIs).
 * Otherwise `NO_COLOR` set to anything non-empty turns colours off (no-color.org). Otherwise
 * colours on a terminal only. JSON (`--json`, JSON logs) is never coloured, whatever this says.
 */
export function resolveColor(isTty: boolean): boolean {
  const force = process.env['FORCE_COLOR'];
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  const noColor = process.env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return isTty;
}

/**
 * Reads a secret from the environment, the only place secrets come from. A missing one is a
 * ConfigError naming the variable (never its value, which is never printed anywhere).
 */
export function readEnvSecret(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(`environment variable ${name} is not set; the config needs it for a credential`);
  }
  return value;
}

/** The names among `names` whose environment variable is unset or empty, in order, each once. */
export function unsetEnv(names: readonly string[]): string[] {
  return [...new Set(names)].filter((name) => (process.env[name] ?? '') === '');
}

/**
 * A sink's signing secret from `secretEnv`: a ConfigError naming the sink and the variable (never
 * a value) when it is unset.
 */
export function readSinkSecret(sink: string, name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(
      `sink "${sink}": environment variable ${name} (secretEnv) is not set; it holds the signing secret (whsec_...)`,
    );
  }
  return value;
}

/**
 * A sink's credential from the environment variable `name` (its config field `field`): a
 * ConfigError naming the sink and the variable (never a value) when it is unset or empty.
 */
export function readSinkEnv(sink: string, field: string, name: string): string {
  return readCredentialEnv(`sink "${sink}"`, field, name);
}

/**
 * A credential from the environment variable `name` (config field `field`) of `owner` (`sink "x"`,
 * `destination "x"`): a ConfigError naming both (never a value) when it is unset or empty.
 */
export function readCredentialEnv(owner: string, field: string, name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigError(`${owner}: environment variable ${name} (${field}) is not set`);
  }
  return value;
}

/**
 * The subject filter that captures every subject of a NATS subject `template`: each token holding
 * a placeholder becomes `*` (`syncline.{stream}.{kind}` → `syncline.*.*`).
 */
export function natsSubjectFilter(template: string): string {
  return template
    .split('.')
    .map((token) => (token.includes('{') ? '*' : token))
    .join('.');
}

/** Whether NATS subject filter `filter` captures every subject `pattern` (with `*` tokens) matches. */
export function natsSubjectCovers(filter: string, pattern: string): boolean {
  const f = filter.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '>') return p.length > i;
    if (i >= p.length) return false;
    if (f[i] !== '*' && (f[i] !== p[i] || p[i] === '*')) return false;
  }
  return f.length === p.length;
}

/** `SYNCLINE_DEBUG=1` prints stack traces of unexpected errors. */
export function debugEnabled(): boolean {
  return process.env['SYNCLINE_DEBUG'] === '1';
}

/** `SYNCLINE_API_TOKEN`: the bearer token the service's API requires, or null when it is unset. */
export function readApiToken(): string | null {
  const value = process.env.SYNCLINE_API_TOKEN;
  return value === undefined || value === '' ? null : value;
}
