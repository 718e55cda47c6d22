import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { REPO_ROOT } from './child-process.ts';
import { pgServerVersion } from './locations.ts';

/** Where and on what the figures were measured: they mean little without it. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly ramGb: number;
  readonly node: string;
  readonly postgres: string;
  readonly date: string;
  /** Short hash of HEAD, with ` (dirty)` when the working tree has changes; `unknown` outside git. */
  readonly commit: string;
  /** 1-minute load average when the bench started: other work on the machine skews every figure. */
  readonly loadAtStart: number;
}

function git(args: string[]): string {
  return execFileSync('git', args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
}

/** The bench's own outputs: rewriting them does not change what is measured. */
const OUTPUTS = [':(exclude)bench/RESULTS.md', ':(exclude)bench/results.png'];

/** The commit measured; a dirty tree is flagged because its figures belong to no commit. */
export function commitLabel(): string {
  try {
    const hash = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--', '.', ...OUTPUTS]) === '' ? hash : `${hash} (dirty)`;
  } catch {
    return 'unknown';
  }
}

export async function machineInfo(pgUrl: string, date: Date): Promise<MachineInfo> {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramGb: totalmem() / 1024 ** 3,
    node: process.version,
    postgres: await pgServerVersion(pgUrl),
    date: date.toISOString(),
    commit: commitLabel(),
    loadAtStart: loadavg()[0]!,
  };
}
