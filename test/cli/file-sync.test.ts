import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.ts';
import { openStore } from '../../src/runtime/open-store.ts';
import { freshLocation, STORE_KINDS } from '../helpers/stores.ts';
import { BIN, cliEnv, collect, runCli, spawnCli, waitForOutput } from './cli-harness.ts';

// `syncline sync` of file streams as a user runs it: a big file read in flat memory, and a run
// killed inside a file that the next run resumes where its last commit left it.

/** Writes `rows` CSV rows of about `width` bytes each, in large chunks (fast). */
async function writeCsv(path: string, rows: number, width: number, rev = 0): Promise<number> {
  const out = createWriteStream(path);
  const pad = 'x'.repeat(Math.max(0, width - 40));
  out.write('id,name,rev,note\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    chunk += `${i},"item ${i}",${rev},${pad}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
  return statSync(path).size;
}

function project(dataFile: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-filecli-'));
  writeFileSync(
    join(dir, 'syncline.config.yaml'),
    `streams:
  - name: items
    type: file
    key: id
    columns: { id: integer, rev: integer }
    file:
      path: ${dataFile}
      format: csv
`,
  );
  return dir;
}

async function count(location: string): Promise<number> {
  let store: Store | null = null;
  try {
    store = await openStore(location);
    return (await store.listRuns({ stream: 'items', limit: 1 })).length > 0
      ? (await store.scanRecords('items', { limit: 1_000_000 })).length
      : 0;
  } catch {
    return 0;
  } finally {
    await store?.close();
  }
}

describe('file streams through the CLI', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it.each(STORE_KINDS)(
    'on %s, a run killed inside a file is resumed inside it: no row missing or doubled',
    async (kind) => {
      const data = mkdtempSync(join(tmpdir(), 'syncline-filedata-'));
      cleanups.push(() => rmSync(data, { recursive: true, force: true }));
      const rows = 120_000;
      const path = join(data, 'items.csv');
      const size = await writeCsv(path, rows, 120);
      const dir = project(path);
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const { location, drop } = await freshLocation(kind);
      cleanups.push(drop);

      const child = spawnCli(['sync', '--store', location], dir);
      const done = collect(child);
      await waitForOutput(child, 'run started');
      // Kill it once a good part of the file is committed, well before its end.
      for (let seen = 0; seen < rows / 4; seen = await count(location)) {
        await sleep(100);
        if (child.exitCode !== null) break;
      }
      child.kill('SIGKILL');
      const killed = await done;
      expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
      const before = await count(location);
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(rows);

      const again = await runCli(['sync', '--store', location], dir);
      expect(again.code, again.stderr.slice(-2000)).toBe(0);
      expect(again.stderr).toContain('resuming inside the file');
      const store = await openStore(location);
      try {
        const stored = await store.scanRecords('items', { limit: rows * 2 });
        expect(stored).toHaveLength(rows);
        const keys = new Set(stored.map((r) => r.key));
        expect(keys.size).toBe(rows);
        for (let i = 0; i < rows; i += 997) expect(keys.has(String(i))).toBe(true);
        const [last] = await store.listRuns({ stream: 'items', limit: 1 });
        // The second run read only what the first had not committed (a page at most again).
        expect(last!.status).toBe('ok');
        expect(last!.counters.fetched).toBeLessThanOrEqual(rows - before + 1000);
        expect(last!.counters.fetched).toBeGreaterThan(0);
        expect(last!.counters.bytes).toBeLessThan(size);
        expect(last!.counters.inserted).toBe(rows - before);
      } finally {
        await store.close();
      }
    },
    120_000,
  );

  it('reads a big CSV file in flat memory (peak RSS under 200 MB)', async () => {
    const mb = Number(process.env['SYNCLINE_TEST_FILE_MB'] ?? 256);
    const data = mkdtempSync(join(tmpdir(), 'syncline-filedata-'));
    cleanups.push(() => rmSync(data, { recursive: true, force: true }));
    const width = 500;
    const rows = Math.ceil((mb * 1024 * 1024) / width);
    const path = join(data, 'big.csv');
    const size = await writeCsv(path, rows, width);
    const dir = project(path);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The CLI in a Node that writes its peak resident set (KiB) to a file as it exits.
    const peakFile = join(dir, 'peak');
    writeFileSync(
      join(dir, 'peak.mjs'),
      `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(peakFile)}, String(process.resourceUsage().maxRSS)));
`,
    );
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', join(dir, 'peak.mjs'), BIN, 'sync', '--store', join(dir, 'db.sqlite')],
      {
        cwd: dir,
        env: cliEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const result = await collect(child);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const seconds = (Date.now() - started) / 1000;
    const peakMb = Number(readFileSync(peakFile, 'utf8')) / 1024;
    process.stderr.write(
      `file sync: ${(size / 1024 / 1024).toFixed(0)} MB, ${rows} rows in ${seconds.toFixed(1)} s ` +
        `(${Math.round(rows / seconds)} rows/s), peak RSS ${peakMb.toFixed(0)} MB\n`,
    );
    expect(peakMb).toBeLessThan(200);
    const store = await openStore(join(dir, 'db.sqlite'));
    try {
      const [run] = await store.listRuns({ stream: 'items', limit: 1 });
      expect(run!.counters).toMatchObject({ inserted: rows, failed: 0, bytes: size });
    } finally {
      await store.close();
    }
  }, 300_000);
});
