/**
 * The child side of the bench's process protocol. A child gets one JSON argument, writes progress
 * to stderr, and ends by printing exactly one JSON line on stdout: its result. Every measured part
 * runs in a child so the simulator, the sync engine and the raw clients never share an event loop
 * or a heap, and each child's peak RSS is its own.
 */

/** The child's single JSON argument (`node --import tsx bench/x.ts '<json>'`). */
export function childArgs<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error(`${process.argv[1]}: expected one JSON argument`);
  return JSON.parse(raw) as T;
}

/**
 * Exits when the parent goes away: the parent holds our stdin open, so its end (the parent exited,
 * even by SIGKILL) is the signal. Without this a killed bench would leave a simulator running.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(1));
  process.stdin.on('error', () => process.exit(1));
  process.stdin.resume();
}

/** Progress for humans, on stderr (stdout carries only the result). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Prints the result line and exits (stdin is still held open by `exitWithParent`). */
export function reply(result: unknown): never {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** Runs a child's main function: a result is printed, an error goes to stderr with exit code 1. */
export function runChildMain(main: () => Promise<unknown>): void {
  exitWithParent();
  main().then(reply, (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

/** This process's peak resident set size in MB (`maxRSS` is in KiB on Linux and macOS). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** CPU seconds (user + system) this process has used so far. */
export function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
