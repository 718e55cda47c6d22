import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { ConfigError, describeError } from '../core/errors.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import { viewColumns } from '../core/view-columns.ts';
import { validateConfig } from './config-schema.ts';
import type { SynclineConfig, SyncSettings } from './define-config.ts';
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
}

export interface LoadOptions {
  /** `--config`; otherwise `CONFIG_FILES` in `cwd`. */
  readonly file?: string;
  /** `--store`, which wins over the environment and the file. */
  readonly store?: string;
  readonly cwd?: string;
  /** Values for `${NAME}` in JSON/YAML configs, before the environment. */
  readonly vars?: Readonly<Record<string, string>>;
}

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
    module = (await tsImport(pathToFileURL(path).href, import.meta.url)) as { default?: unknown };
  } catch (error) {
    // A ConfigError the config threw while it was evaluated (`http.stream({...})` checks its
    // object) already says what is wrong. (It comes from the copy of Syncline the config imported,
    // which instanceof recognises: see core/errors.ts.)
    if (error instanceof ConfigError) {
      throw new ConfigError(`${shown}: ${error.message}`, { cause: error });
    }
    throw new ConfigError(`${shown}: could not be loaded: ${describeError(error)}`, { cause: error });
  }
  const exported = unwrapDefault(module);
  if (exported === undefined) {
    throw new ConfigError(
      `${shown}: has no default export; end it with \`export default defineConfig({ ... })\``,
    );
  }
  return resolveConfig(validateConfig(exported, shown), shown, options.store);
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

/** `SYNCLINE_DEBUG=1` prints stack traces of unexpected errors. */
export function debugEnabled(): boolean {
  return process.env['SYNCLINE_DEBUG'] === '1';
}
