import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createProgram } from '../../src/cli/main.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

// The Dockerfile and the systemd unit of README "Run it as a service" cannot be built or started
// here (no container daemon, no systemd): this checks what can go stale in them.
describe('deploy files', () => {
  it('the Dockerfile copies only paths the repository has, and runs a command the CLI knows', () => {
    const dockerfile = read('deploy/Dockerfile');
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(copied.length).toBeGreaterThan(3);
    for (const path of copied) expect(existsSync(resolve(ROOT, path)), `COPY ${path}`).toBe(true);
    // Everything the build compiles (tsconfig.build.json "include") is copied before `npm ci` builds it.
    const include = (
      JSON.parse(read('tsconfig.build.json').replace(/^\s*\/\/.*$/gm, '')) as { include: string[] }
    ).include;
    for (const dir of include) expect(copied).toContain(dir);
    expect(dockerfile).toMatch(/CMD \["node", "\/app\/bin\/syncline\.mjs", "run"/);
    expect(dockerfile).toContain('FROM node:20');
  });

  it('the systemd unit starts syncline run and gives it longer than its shutdown timeout', () => {
    const unit = read('deploy/syncline.service');
    expect(unit).toMatch(/^ExecStart=.* syncline run\b/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
    expect(stopSec).toBeGreaterThan(30); // service.shutdownTimeout defaults to 30 s
  });

  it('the docker-compose cluster builds from this repository, runs three workers of a config that exists on one PostgreSQL, and uses commands the CLI knows', () => {
    const compose = parse(read('deploy/docker-compose.yml')) as {
      services: Record<
        string,
        {
          build?: { context: string; dockerfile: string };
          command?: string[];
          deploy?: { replicas?: number };
          environment?: Record<string, string>;
          volumes?: string[];
          stop_grace_period?: string;
        }
      >;
    };
    const { postgres, simulator, worker } = compose.services;
    expect(postgres).toBeDefined();
    for (const built of [simulator!, worker!]) {
      expect(resolve(ROOT, 'deploy', built.build!.context)).toBe(ROOT);
      expect(existsSync(resolve(ROOT, built.build!.dockerfile))).toBe(true);
    }
    expect(worker!.deploy?.replicas).toBe(3);
    expect(worker!.environment?.['SYNCLINE_STORE']).toMatch(/^postgres:\/\/.*@postgres:5432\//);
    expect(worker!.environment?.['SYNCLINE_API_TOKEN']).toBeTruthy();
    // The mounted project holds the config every worker runs.
    const mount = worker!.volumes![0]!.split(':')[0]!;
    expect(existsSync(resolve(ROOT, 'deploy', mount, 'syncline.config.yaml'))).toBe(true);
    // Longer than the default shutdown timeout, so a stopped worker hands its runs back.
    expect(Number.parseInt(worker!.stop_grace_period!, 10)).toBeGreaterThan(30);
    // The simulator's flags are the CLI's.
    const simulate = createProgram().commands.find((c) => c.name() === 'simulate')!;
    const flags = simulate.options.map((o) => o.long);
    for (const arg of simulator!.command!.filter((a) => a.startsWith('--'))) expect(flags).toContain(arg);
    expect(simulator!.command!.slice(0, 3)).toEqual(['node', '/app/bin/syncline.mjs', 'simulate']);
    expect(createProgram().commands.map((c) => c.name())).toContain('workers');
  });

  it('the CLI has the run command with the flags the docs use', () => {
    const run = createProgram().commands.find((c) => c.name() === 'run');
    expect(run).toBeDefined();
    const flags = run!.options.map((o) => o.long);
    expect(flags).toEqual(expect.arrayContaining(['--listen', '--no-listen']));
  });
});
