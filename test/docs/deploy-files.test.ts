import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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

  it('the CLI has the run command with the flags the docs use', () => {
    const run = createProgram().commands.find((c) => c.name() === 'run');
    expect(run).toBeDefined();
    const flags = run!.options.map((o) => o.long);
    expect(flags).toEqual(expect.arrayContaining(['--listen', '--no-listen']));
  });
});
