import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SynclineConfig } from '../config/define-config.ts';
import {
  CONFIG_FILES,
  type LoadOptions,
  type ResolvedConfig,
  resolveConfig,
  resolveStore,
} from '../config/load-config.ts';
import { ConfigError } from '../core/errors.ts';
import type { Store, StoreOpenOptions } from '../core/store.ts';
import type { Logger } from '../core/types.ts';
import { SILENT_LOGGER } from '../core/types.ts';
import { loadProjectConfig } from './load-project-config.ts';
import { openStore } from './open-store.ts';
import { type RunStreamsArgs, runStreams, type StreamOutcome } from './run-streams.ts';

/** Where a runtime's config comes from: given in code, or loaded from a file (`--config`, cwd). */
export type ConfigSource =
  | { readonly code: SynclineConfig; readonly file?: string }
  | { readonly load: LoadOptions };

export interface RuntimeOptions {
  readonly config: ConfigSource;
  /** `--store`: wins over `SYNCLINE_STORE` and the config's `store`. */
  readonly store?: string;
  /**
   * Commands that only look at a store (status, runs, failed) work without a config file: the
   * store is then `store`, `SYNCLINE_STORE` or `syncline.db`. Default false: a missing config
   * file is a `ConfigError`.
   */
  readonly configOptional?: boolean;
  /** Default: silence. */
  readonly log?: Logger;
}

/** What a command or the library does with the store: `StoreOpenOptions.mode`. */
export type StoreMode = NonNullable<StoreOpenOptions['mode']>;

/**
 * The composition root: the one place that turns a config into running objects. The CLI, the
 * library's `sync()` and the demo all build one and ask it for the config, the store and runs; the
 * kinds it builds come from the registries (`source-kinds.ts`, `store-kinds.ts`), so a new kind is
 * a registration, not another switch here. Everything is built on first use and `close()` releases
 * it.
 */
export class Runtime {
  readonly #options: RuntimeOptions;
  readonly log: Logger;
  #config: Promise<ResolvedConfig> | null = null;
  #store: Promise<Store> | null = null;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.log = options.log ?? SILENT_LOGGER;
  }

  /** The resolved config (validated, store location resolved, frozen), loaded once. */
  config(): Promise<ResolvedConfig> {
    this.#config ??= this.#loadConfig();
    return this.#config;
  }

  /** Whether there is a config to load (always, unless it comes from a file that is missing). */
  hasConfig(): boolean {
    const source = this.#options.config;
    if ('code' in source) return true;
    if (source.load.file) return true;
    const cwd = source.load.cwd ?? process.cwd();
    return CONFIG_FILES.some((name) => existsSync(resolve(cwd, name)));
  }

  /**
   * The store, opened once for what the caller does with it (`StoreOpenOptions.mode`; the first
   * caller's mode wins): `create` checks the config's stream names at open (a table of that name
   * must be Syncline's); `write` and `read` never create a store that is missing.
   */
  store(mode: StoreMode = 'write'): Promise<Store> {
    this.#store ??= this.#openStore(mode);
    return this.#store;
  }

  /** Runs streams of the config (`only`, or all) on the store, as `runStreams` does. */
  async run(
    args: Omit<RunStreamsArgs, 'config' | 'store' | 'log'> & { log?: Logger },
  ): Promise<StreamOutcome[]> {
    return runStreams({
      ...args,
      config: await this.config(),
      store: await this.store('create'),
      log: args.log ?? this.log,
    });
  }

  /** Closes the store if it was opened. */
  async close(): Promise<void> {
    const store = this.#store;
    this.#store = null;
    if (store) await (await store.catch(() => null))?.close();
  }

  #loadConfig(): Promise<ResolvedConfig> {
    const source = this.#options.config;
    const store = this.#options.store;
    if ('code' in source) return Promise.resolve(resolveConfig(source.code, source.file ?? '<code>', store));
    return loadProjectConfig({ ...source.load, ...(store ? { store } : {}) });
  }

  async #openStore(mode: StoreMode): Promise<Store> {
    const config = this.hasConfig() ? await this.config() : null;
    if (!config && !this.#options.configOptional) {
      // Loading says which file is missing and what to do.
      await this.config();
      throw new ConfigError('no config to run');
    }
    const location = config ? config.store : resolveStore(this.#options.store);
    const streams = mode === 'create' && config ? { streams: config.streams.map((s) => s.name) } : {};
    return openStore(location, { mode, ...streams });
  }
}

/** The composition root for `options` (see `Runtime`). */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}
