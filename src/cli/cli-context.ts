import type { Command } from 'commander';
import {
  type ResolvedConfig,
  RUNNING_SYNCLINE,
  resolveColor,
  resolveLogFormat,
} from '../config/load-config.ts';
import { SyncEventBus } from '../core/events.ts';
import type { Store } from '../core/store.ts';
import type { Logger, RunRequest } from '../core/types.ts';
import { createRuntime, type Runtime, type StoreMode } from '../runtime/create-runtime.ts';
import type { StreamOutcome } from '../runtime/run-streams.ts';
import { createLogger } from './create-logger.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { type ProgressOptions, reportProgress } from './progress-reporter.ts';
import { StderrLines } from './stderr-lines.ts';
import { TerminalStyle } from './terminal-style.ts';

export type { StoreMode };

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
  /**
   * The composition root, built from the global options. A bare `syncline` import in a code config
   * is this running CLI's own copy, also when the CLI runs its TypeScript sources (bin/syncline.mjs
   * then has tsx's loader on, which loads them).
   */
  readonly runtime: Runtime;

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
    this.runtime = createRuntime({
      config: { load: { ...(options.config ? { file: options.config } : {}), syncline: RUNNING_SYNCLINE } },
      ...(options.store ? { store: options.store } : {}),
      configOptional: true,
      log: this.log,
    });
  }

  static of(command: Command): CliContext {
    return new CliContext(command.optsWithGlobals<GlobalOptions>());
  }

  /**
   * The config. A bare `syncline` import in a code config is this running CLI's own copy, also when
   * the CLI runs its TypeScript sources (bin/syncline.mjs then has tsx's loader on, which loads them).
   */
  config(): Promise<ResolvedConfig> {
    return this.runtime.config();
  }

  /**
   * Opens the store for what the command does with it, so a mistyped location is never created:
   * `create` for commands that run streams (the config's streams are checked at open: a table of
   * that name must be Syncline's); `write` (the default) for commands that change an existing store;
   * `read` for those that only read it, which work on a store they may not write. Commands that run
   * no stream work without a config file: the store is then `--store`, `SYNCLINE_STORE`, or
   * `syncline.db`.
   */
  store(mode: StoreMode = 'write'): Promise<Store> {
    return this.runtime.store(mode);
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
    const [outcome] = await this.runtime.run({ only: [stream], events, request }).finally(stop);
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
    await this.runtime.close();
  }
}
