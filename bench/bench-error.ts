/**
 * Errors of the benchmark. A missed target is never one of them (the bench is a measurement and
 * reports misses in RESULTS.md); these are the failures that make a figure impossible to measure.
 */

/** Base of every error the bench throws on purpose. */
export class BenchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command-line option is missing or malformed. */
export class BenchUsageError extends BenchError {}

/** A child process (simulator, sync, limits, baseline) exited badly or printed no result. */
export class ChildProcessError extends BenchError {
  readonly exitCode: number | null;
  /** The child's last stderr lines, for the message a human reads. */
  readonly stderrTail: string;
  constructor(label: string, exitCode: number | null, detail: string, stderrTail: string) {
    super(
      `${label} failed (exit ${exitCode ?? 'by signal'}): ${detail}${stderrTail ? `\n--- stderr ---\n${stderrTail}` : ''}`,
    );
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** A Syncline run ended in a status other than `ok`: its figures would not describe a sync. */
export class SyncRunError extends BenchError {}

/** The simulator answered an admin request with an error. */
export class SimulatorAdminError extends BenchError {}
