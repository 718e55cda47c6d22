import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { BIN, cliEnv } from './cli-harness.ts';

/**
 * The CLI on a real pseudo-terminal, through util-linux `script` (`script -qfec <command>
 * /dev/null`; see `ptyCommand`): stdin, stdout and stderr of the CLI are the terminal, so it sees a TTY as a user's
 * shell would give it. What it writes (both streams, with the terminal's `\r\n`) is the output;
 * what the test writes goes to the terminal as typed keys (`\u0003` is Ctrl-C: the terminal sends
 * SIGINT to the CLI, as a user's Ctrl-C does).
 */
export interface PtyRun {
  readonly child: ChildProcess;
  /** Everything written to the terminal so far. */
  output(): string;
  /** Types `text` into the terminal. */
  type(text: string): void;
  /** Resolves once the output contains `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** The exit code and the whole output, when the CLI has exited. */
  readonly done: Promise<{ code: number | null; output: string }>;
}

/**
 * How to put a command on a pseudo-terminal: util-linux `script`, or where it is missing, Python's
 * `pty` module doing the same (copy keys in, output out, exit with the command's code).
 */
function ptyCommand(argv: readonly string[]): [string, string[]] {
  if (hasScript()) return ['script', ['-qfec', `exec ${argv.map(shellWord).join(' ')}`, '/dev/null']];
  const python = 'import os, pty, sys\n' + 'sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';
  return ['python3', ['-c', python, ...argv]];
}

let scriptFound: boolean | undefined;

function hasScript(): boolean {
  if (scriptFound === undefined) {
    try {
      scriptFound = execFileSync('script', ['--version'], { encoding: 'utf8' }).includes('util-linux');
    } catch {
      scriptFound = false;
    }
  }
  return scriptFound;
}

/**
 * Runs `syncline <args>` on a pseudo-terminal in `cwd`. Logs are left to choose their format (pretty
 * on a terminal) unless `env` says otherwise; colour switches come only from `env`.
 */
export function spawnInPty(args: readonly string[], cwd: string, env: Record<string, string> = {}): PtyRun {
  const { SYNCLINE_LOG_FORMAT: _format, ...base } = cliEnv();
  const [program, programArgs] = ptyCommand([process.execPath, BIN, ...args]);
  const child = spawn(program, programArgs, {
    cwd,
    env: { ...base, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const onData = (data: Buffer) => {
    output += data.toString();
    for (const w of [...waiters]) {
      if (output.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const done = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, output }));
  });
  return {
    child,
    output: () => output,
    type: (text) => child.stdin?.write(text),
    waitFor: (text, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        if (output.includes(text)) return resolve();
        const timer = setTimeout(
          () =>
            reject(new Error(`timed out waiting for ${JSON.stringify(text)}; saw: ${output.slice(-800)}`)),
          timeoutMs,
        );
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
    done,
  };
}

function shellWord(word: string): string {
  return /^[\w./:=@-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
