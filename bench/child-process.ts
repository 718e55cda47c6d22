import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ChildProcessError } from './bench-error.ts';

/**
 * The parent side of the bench's process protocol (see `child-io.ts`): spawns
 * `node dist/bench/<script>.js '<json>'` (the compiled child: what a user's built application or
 * the compiled CLI runs, without a TypeScript loader in the process), forwards the child's stderr
 * as progress lines, and reads its stdout lines.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '..');
const TAIL_LINES = 30;
/** Children not yet ended, so a stopped bench can end them before dropping their schemas. */
const running = new Set<BenchChild>();

/** Stops every running child (SIGTERM) and waits for them. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}

/** A running child: its stdout lines as they come, and how it ended. */
export class BenchChild {
  readonly process: ChildProcess;
  readonly label: string;
  private readonly tail: string[] = [];
  private readonly lines: string[] = [];
  private readonly waiters: ((line: string | null) => void)[] = [];
  private ended = false;
  readonly exit: Promise<number | null>;

  constructor(script: string, args: unknown, label: string, nodeOptions: readonly string[] = []) {
    this.label = label;
    this.process = spawn(
      process.execPath,
      [
        ...nodeOptions,
        resolve(REPO_ROOT, 'dist', 'bench', script.replace(/\.ts$/, '.js')),
        JSON.stringify(args),
      ],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.process.stderr! }).on('line', (line) => {
      process.stderr.write(`  [${label}] ${line}\n`);
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
    running.add(this);
    this.exit = once(this.process, 'close').then(([code]) => {
      this.ended = true;
      running.delete(this);
      for (const waiter of this.waiters.splice(0)) waiter(null);
      return code as number | null;
    });
  }

  /** The next stdout line, or a ChildProcessError when the child ends first. */
  async nextLine(): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return queued;
    const line = this.ended ? null : await new Promise<string | null>((r) => this.waiters.push(r));
    if (line !== null) return line;
    throw this.failure(await this.exit, 'ended without printing a result');
  }

  /** The child's JSON result line; it must then exit with code 0. */
  async result<T>(): Promise<T> {
    const line = await this.nextLine();
    const code = await this.exit;
    if (code !== 0) throw this.failure(code, 'exited with an error after its result');
    try {
      return JSON.parse(line) as T;
    } catch (error) {
      throw this.failure(code, `printed a result that is not JSON: ${line.slice(0, 200)} (${String(error)})`);
    }
  }

  /** Asks the child to stop (SIGTERM) and waits for it; idempotent. */
  async stop(): Promise<void> {
    if (!this.ended && this.process.exitCode === null) this.process.kill('SIGTERM');
    await this.exit;
  }

  private failure(code: number | null, detail: string): ChildProcessError {
    return new ChildProcessError(this.label, code, detail, this.tail.join('\n'));
  }
}

/** Runs a child to its end and returns its result. */
export async function runChild<T>(
  script: string,
  args: unknown,
  label: string,
  nodeOptions: readonly string[] = [],
): Promise<T> {
  const child = new BenchChild(script, args, label, nodeOptions);
  try {
    return await child.result<T>();
  } finally {
    await child.stop();
  }
}
