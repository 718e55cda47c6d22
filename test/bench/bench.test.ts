import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BenchUsageError } from '../../bench/bench-error.ts';
import { DEFAULT_SECTIONS, parseBenchArgs } from '../../bench/bench-options.ts';
import { withPgClient } from '../helpers/postgres.ts';
import { readPng } from './png-check.ts';

// Slow (60-80 s): `npm run bench` itself at its tiny size, as a child process: the default sections
// and the opt-in events section. The other opt-in sections (destinations, cdc, files, changelog,
// cluster) start services, private clusters or up to five processes and take minutes on a loaded
// machine even at their tiny size: run by hand (`npm run bench -- --size tiny --only
// destinations,cdc,files,changelog,cluster`), kept out of CI's budget; each fails itself when what
// it measures goes wrong (a contact missing, an inbox not applied). The events section needs NATS
// with JetStream on 127.0.0.1:4222, as test/integration/nats-sink.test.ts.

const ROOT = resolve(import.meta.dirname, '../..');

/** `npm run bench`'s command line, read from package.json so the test runs what users run. */
function benchCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { bench: string } };
  const [node, ...args] = pkg.scripts.bench.split(' ');
  expect(node).toBe('node');
  return args;
}

/** Schemas the bench process `pid` created (it names them `bench_<pid>_...`). */
async function benchSchemas(pid: number): Promise<string[]> {
  return withPgClient(async (client) => {
    const res = await client.query<{ nspname: string }>(
      'SELECT nspname FROM pg_namespace WHERE nspname LIKE $1',
      [`bench\\_${pid}\\_%`],
    );
    return res.rows.map((r) => r.nspname);
  });
}

/** Removes what a bench process left behind (schemas, temp directories) if it could not. */
async function removeLeftovers(pid: number): Promise<void> {
  for (const schema of await benchSchemas(pid)) {
    await withPgClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  }
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(`syncline-bench-${pid}-`))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** The data rows of the markdown table that follows `heading`. */
function tableRows(markdown: string, heading: string): string[][] {
  const section = markdown.split(`\n${heading}\n`)[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'))
    .slice(1)
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
}

const num = (cell: string | undefined): number => Number((cell ?? '').replace(/[,%]/g, ''));

describe('bench options', () => {
  it('scales every size from one number', () => {
    expect(parseBenchArgs([]).sizes).toEqual({
      records: 1_000_000,
      medium: 100_000,
      large: 5_000_000,
      baseline: 50_000,
    });
    expect(parseBenchArgs(['--size', 'tiny']).sizes).toEqual({
      records: 2000,
      medium: 200,
      large: 10_000,
      baseline: 500,
    });
    expect([...parseBenchArgs(['--only', 'limits,large']).only]).toEqual(['limits', 'large']);
    // events is opt-in: it needs NATS and adds minutes at full size.
    expect([...parseBenchArgs([]).only]).not.toContain('events');
    expect([...parseBenchArgs(['--only', 'events']).only]).toEqual(['events']);
    // destinations is opt-in: its one-request-at-a-time runs add minutes at full size.
    expect([...parseBenchArgs([]).only]).not.toContain('destinations');
    expect([...parseBenchArgs(['--only', 'destinations']).only]).toEqual(['destinations']);
    // cluster is opt-in: it starts up to five processes and adds minutes at full size.
    expect([...parseBenchArgs([]).only]).not.toContain('cluster');
  });

  it('refuses unknown options, sections and sizes', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(['--only', 'everything'])).toThrow(/unknown section "everything"/);
    expect(() => parseBenchArgs(['--size', 'huge'])).toThrow(/--size must be/);
    expect(() => parseBenchArgs(['--out'])).toThrow(/--out needs a value/);
  });
});

describe('npm run bench -- --size tiny', () => {
  it('measures everything, writes RESULTS.md and a valid chart, and leaves no schema behind', async () => {
    const out = mkdtempSync(join(tmpdir(), 'syncline-bench-test-'));
    // The default sections and events (above).
    const only = [...DEFAULT_SECTIONS, 'events'].join(',');
    const child = spawn(
      process.execPath,
      [...benchCommand(), '--size', 'tiny', '--out', out, '--only', only],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // The bench rebuilds dist/ first while other tests' CLIs run from it: the build must replace it
    // whole, never leave it missing (a CLI's lazy import then fails; CI saw exit 1s from it).
    const probe = join(ROOT, 'dist', 'src', 'runtime', 'store-kinds.js');
    const builtBefore = existsSync(probe);
    let missing = 0;
    const watch = setInterval(() => {
      if (stderr.includes('built dist/')) clearInterval(watch);
      else if (!existsSync(probe)) missing++;
    }, 2);
    const pid = child.pid!;
    try {
      const [code] = await once(child, 'close');
      clearInterval(watch);
      expect(code, stderr).toBe(0);
      if (builtBefore) expect(missing, 'times dist/ was missing during the build').toBe(0);
      expect(await benchSchemas(pid)).toEqual([]);

      const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
      for (const heading of [
        '## Machine',
        '## Throughput',
        '## Incremental sync and unchanged polls',
        '## The lookback window',
        '## Memory',
        '## The service',
        '## Events',
        '## Webhooks in',
        '## Targets',
      ]) {
        expect(md).toContain(`\n${heading}\n`);
      }
      expect(md).toMatch(/\| commit \| [0-9a-f]{7,}( \(dirty\))? \|/);
      expect(md).toMatch(/\| PostgreSQL \| \d+\.\d+/);

      const throughput = tableRows(md, '## Throughput');
      expect(throughput.map((r) => r[0])).toEqual([
        'raw fetch + JSON.parse',
        'raw PostgreSQL COPY',
        'raw SQLite INSERT',
        'hand-written, PostgreSQL',
        'hand-written, SQLite',
        'Syncline, SQLite',
        'Syncline, PostgreSQL',
        'Syncline, SQLite (200)',
        'Syncline, PostgreSQL (200)',
        'Syncline, SQLite (10k)',
      ]);
      for (const row of throughput) {
        expect(num(row[1]), row[0]).toBeGreaterThan(0); // records
        expect(num(row[3]), row[0]).toBeGreaterThan(0); // records/s
      }

      const runs = tableRows(md, '## Incremental sync and unchanged polls');
      expect(runs).toHaveLength(16);
      for (const row of runs.filter((r) => r[2] === 'incremental')) expect(num(row[9])).toBeGreaterThan(0);
      for (const row of runs.filter((r) => r[2]?.startsWith('poll'))) expect(num(row[9])).toBe(0);
      // The second poll repeats the first one's one-page request: a conditional request, answered 304.
      for (const row of runs.filter((r) => r[2] === 'poll 2 (unchanged)')) expect(num(row[7])).toBe(1);

      const memory = tableRows(md, '## Memory');
      expect(memory).toHaveLength(5);
      for (const row of memory) expect(num(row[2])).toBeGreaterThan(0);

      // The service section: runs judged, lateness, idle CPU, measured (not constants).
      const [service] = tableRows(md, '## The service');
      expect(num(service![0])).toBeGreaterThan(5); // runs judged
      expect(num(service![5])).toBeGreaterThan(0); // idle seconds
      expect(num(service![4])).toBe(0); // runs not ok

      // The events section: both targets delivered the whole log, raw and sink rates measured;
      // then the latency table (the sink in the writer's process, and in another).
      const events = tableRows(md, '## Events');
      expect(events.map((r) => r[0])).toEqual([
        'NATS JetStream',
        'webhook (local receiver)',
        'sink',
        "in the writer's process (woken by page:committed)",
        'in another process (500 ms poll)',
      ]);
      for (const row of events.slice(0, 2)) {
        expect(num(row[1]), row[0]).toBe(2000); // events: the tiny sync's whole log
        expect(num(row[2]), row[0]).toBeGreaterThan(0); // sink events/s
        expect(num(row[5]), row[0]).toBeGreaterThan(0); // raw events/s
      }
      for (const row of events.slice(3)) {
        expect(num(row[1]), row[0]).toBe(3000); // every judged change arrived
        expect(num(row[4]), row[0]).toBeGreaterThanOrEqual(num(row[2])); // p99 >= p50
      }

      // The webhooks section: latency one at a time and 16 in flight per store, and the paced burst
      // (2,000/s for 1 s at tiny size), every delivery answered 2xx.
      const webhooks = tableRows(md, '## Webhooks in');
      const latency = webhooks.filter((r) => r.length === 9);
      expect(latency.map((r) => [r[0], r[2]])).toEqual([
        ['sqlite', '1'],
        ['sqlite', '16'],
        ['postgres', '1'],
        ['postgres', '16'],
      ]);
      for (const row of latency) expect(num(row[5]), row[0]).toBeGreaterThanOrEqual(num(row[3])); // p99 >= p50
      const paced = webhooks.filter((r) => r.length === 11 && r[0] !== 'store');
      expect(paced.map((r) => r[0])).toEqual(['sqlite', 'postgres']);
      for (const row of paced) {
        expect(num(row[3]), row[0]).toBe(2000); // every delivery answered
        expect(num(row[9]), row[0]).toBe(0); // none lost
      }

      const targets = md.split('\n## Targets\n')[1]!.trim().split('\n');
      expect(targets).toHaveLength(19);
      // The targets of the sections left out (above) say so; every other one is judged.
      for (const line of targets) {
        expect(line).toMatch(/^- \*\*(PASS|MISS|n\/a)\*\* .*\d/);
        if (line.startsWith('- **n/a**')) {
          expect(line).toMatch(/^- \*\*n\/a\*\* (cdc|files|destinations?)\b.*\(not measured in this run\)$/i);
        }
      }

      const png = readPng(readFileSync(join(out, 'results.png')));
      expect(png.colorType).toBe(2);
      expect(png.inflatedLength).toBe(png.width * png.height * 3 + png.height);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'close');
      }
      await removeLeftovers(pid);
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
