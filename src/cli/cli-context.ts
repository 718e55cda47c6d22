import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  CONFIG_FILES,
  type ResolvedConfig,
  RUNNING_SYNCLINE,
  resolveColor,
  resolveLogFormat,
  resolveStore,
} from '../config/load-config.ts';
import { SyncEventBus } from '../core/events.ts';
import type { Store, StoreOpenOptions } from '../core/store.ts';
import type { Logger, RunRequest } from '../core/types.ts';
import { loadProjectConfig } from '../runtime/load-project-config.ts';
import { openStore } from '../runtime/open-store.ts';
import { runStreams, type StreamOutcome } from '../runtime/run-streams.ts';
import { createLogger } from './create-logger.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { type ProgressOptions, reportProgress } from './progress-reporter.ts';
import { StderrLines } from './stderr-lines.ts';
import { TerminalStyle } from './terminal-style.ts';

/** What a command does with the store: `StoreOpenOptions.mode`. */
export type StoreMode = NonNullable<StoreOpenOptions['mode']>;

/** The options every command accepts (declared on the program). */
export interface GlobalOptions {
  readonly config?: string;
  readonly store?: string;
  readonly logFormat?: string;
  readonly logLevel?: string;
}

/**
 * What a command needs, built lazily from the global options: the config, the store, a logger, and
 * output helpers. `close()` releases whatever was opened.
 */
export class CliContext {
  readonly options: GlobalOptions;
  readonly interactive: boolean;
  readonly log: Logger;
  /** Colours for command output (stdout), when it goes to a terminal (or FORCE_COLOR says so). */
  readonly out: TerminalStyle;
  /** Colours for logs and live lines (stderr). */
  readonly err: TerminalStyle;
  /** Where human log lines go; live lines take them over while they are drawn. */
  readonly lines = new StderrLines();
  #config: Promise<ResolvedConfig> | null = null;
  #store: Store | null = null;

  constructor(options: GlobalOptions) {
    this.options = options;
    this.interactive =
      Boolean(process.stderr.isTTY) && resolveLogFormat(options.logFormat, true) === 'pretty';
    this.out = new TerminalStyle(resolveColor(Boolean(process.stdout.isTTY)));
    this.err = new TerminalStyle(resolveColor(Boolean(process.stderr.isTTY)));
    this.log = createLogger(
      resolveLogFormat(options.logFormat, Boolean(process.stderr.isTTY)),
      options.logLevel,
      this.err.enabled,
      this.lines,
    );
  }

  static of(command: Command): CliContext {
    return new CliContext(command.optsWithGlobals<GlobalOptions>());
  }

  /**
   * The config. A bare `syncline` import in a code config is this running CLI's own copy, also when
   * the CLI runs its TypeScript sources (bin/syncline.mjs then has tsx's loader on, which loads them).
   */
  config(): Promise<ResolvedConfig> {
    this.#config ??= loadProjectConfig({
      ...(this.options.config ? { file: this.options.config } : {}),
      ...(this.options.store ? { store: this.options.store } : {}),
      syncline: RUNNING_SYNCLINE,
    });
    return this.#config;
  }

  /**
   * Opens the store for what the command does with it, so a mistyped location is never created:
   * `create` for commands that run streams (the config's streams are checked at open: a table of
   * that name must be Syncline's); `write` (the default) for commands that change an existing store;
   * `read` for those that only read it, which work on a store they may not write. Commands that run
   * no stream work without a config file: the store is then `--store`, `SYNCLINE_STORE`, or
   * `syncline.db`.
   */
  async store(mode: StoreMode = 'write'): Promise<Store> {
    if (this.#store) return this.#store;
    const hasConfig = this.options.config || CONFIG_FILES.some((f) => existsSync(resolve(f)));
    const config = hasConfig ? await this.config() : null;
    const location = config ? config.store : resolveStore(this.options.store);
    const streams = mode === 'create' && config ? { streams: config.streams.map((s) => s.name) } : {};
    this.#store = await openStore(location, { mode, ...streams });
    return this.#store;
  }

  /** Command output goes to stdout (logs go to stderr). */
  print(text: string): void {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /**
   * Runs one stream of the config as `request` asks (a refresh, a backfill...) with the live
   * progress line, as the one-stream commands do. Undefined when the stream ran not at all.
   */
  async runOne(stream: string, request: RunRequest): Promise<StreamOutcome | undefined> {
    const events = new SyncEventBus();
    const stop = reportProgress(events, this.progressOptions());
    const [outcome] = await runStreams({
      config: await this.config(),
      store: await this.store('create'),
      only: [stream],
      events,
      log: this.log,
      request,
    }).finally(stop);
    return outcome;
  }

  /** How `reportProgress` shows this command's runs: live lines on a terminal, else logs. */
  progressOptions(): ProgressOptions {
    return { log: this.log, interactive: this.interactive, style: this.err, lines: this.lines };
  }

  /**
   * Prints the outcome of a one-stream command (`--json`: the outcome as JSON, else `line`) and
   * sets the exit code from it.
   */
  printOutcome(outcome: StreamOutcome, json: boolean | undefined, line: string): void {
    if (json) {
      const { cause: _cause, ...rest } = outcome;
      this.printJson(rest);
    } else {
      this.print(`${line}${outcome.error ? `; ${outcome.error}` : ''}`);
    }
    process.exitCode =
      outcome.status === 'ok' ? EXIT.ok : outcome.status === 'busy' ? EXIT.busy : exitCodeFor(outcome.cause);
  }

  printJson(value: unknown): void {
    this.print(JSON.stringify(value, null, 2));
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = null;
    await store?.close();
  }
}
