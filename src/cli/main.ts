import { Command, CommanderError, Option } from 'commander';
import { debugEnabled } from '../config/load-config.ts';
import { ConfigError, describeError, SyncError } from '../core/errors.ts';
import { SYNCLINE_VERSION } from '../core/version.ts';
import { tuneHeapForSync } from '../runtime/heap-tuning.ts';
import { registerApproveCommand } from './commands/approve-command.ts';
import { registerBackfillCommand } from './commands/backfill-command.ts';
import { registerCdcCommand } from './commands/cdc-command.ts';
import { registerChangesCommand } from './commands/changes-command.ts';
import { registerCheckCommand } from './commands/check-command.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerFailedCommand } from './commands/failed-command.ts';
import { registerInitCommand } from './commands/init-command.ts';
import { registerPushCommand } from './commands/push-command.ts';
import { registerRefreshCommand } from './commands/refresh-command.ts';
import { registerResetCommand } from './commands/reset-command.ts';
import { registerRunCommand } from './commands/run-command.ts';
import { registerRunsCommand } from './commands/runs-command.ts';
import { registerServeCommand } from './commands/serve-command.ts';
import { registerSimulateCommand } from './commands/simulate-command.ts';
import { registerSinksCommand } from './commands/sinks-command.ts';
import { registerStatusCommand } from './commands/status-command.ts';
import { registerSyncCommand } from './commands/sync-command.ts';
import { registerWorkersCommand } from './commands/workers-command.ts';
import { LOG_LEVELS } from './create-logger.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';

/** Builds the `syncline` program. */
export function createProgram(): Command {
  const program = new Command('syncline')
    .description(
      'Sync data from APIs you do not control into SQLite or PostgreSQL: nothing missing, duplicated or stale.',
    )
    .version(SYNCLINE_VERSION)
    .option('-c, --config <file>', 'config file (default: ./syncline.config.ts)')
    .option(
      '-s, --store <location>',
      'SQLite file or postgres:// URL (default: config, $SYNCLINE_STORE, syncline.db)',
    )
    .option('--log-format <format>', 'json | pretty (default: pretty on a terminal, json elsewhere)')
    .addOption(
      new Option(
        '--log-level <level>',
        'debug logs each HTTP request (method, URL without secrets, status, time, bytes, retry decision); ' +
          'trace adds its rate-limit headers and attempt',
      )
        .choices(LOG_LEVELS)
        .default('info'),
    )
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerInitCommand,
    registerSyncCommand,
    registerRunCommand,
    registerServeCommand,
    registerCheckCommand,
    registerStatusCommand,
    registerWorkersCommand,
    registerRunsCommand,
    registerChangesCommand,
    registerSinksCommand,
    registerPushCommand,
    registerFailedCommand,
    registerResetCommand,
    registerApproveCommand,
    registerBackfillCommand,
    registerRefreshCommand,
    registerCdcCommand,
    registerDemoCommand,
    registerSimulateCommand,
  ]) {
    register(program);
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

/**
 * Runs the CLI; every error becomes one line on stderr (a config's syntax error adds the line it is
 * on) and an exit code, never a stack trace.
 */
export async function main(argv: readonly string[]): Promise<void> {
  tuneHeapForSync();
  try {
    await createProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help).
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    // Other errors print their first line; a config error's later lines show where in the file it
    // is (a YAML or JSON syntax error quotes the line, with a caret under the column).
    process.stderr.write(
      `syncline: ${error instanceof ConfigError ? error.message : describeError(error)}\n`,
    );
    if (debugEnabled() && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    else if (!(error instanceof SyncError)) {
      process.stderr.write('(unexpected error: run with SYNCLINE_DEBUG=1 for the stack trace)\n');
    }
    process.exitCode = exitCodeFor(error);
  }
}
