import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './cli-harness.ts';
import { spawnInPty } from './pty-harness.ts';
import { renderScreen } from './screen.ts';

// Slow (about a minute): the CLI runs on a pseudo-terminal, and the Ctrl-C cases wait for a page
// in progress to finish.

/** An SGR sequence: what colours text. (Cursor movement of live lines is not colour.) */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`);

describe('syncline CLI on a terminal and off it', () => {
  let project: ReturnType<typeof makeProject> | null = null;
  afterEach(() => {
    project?.cleanup();
    project = null;
  });

  it('colours status words with FORCE_COLOR, never in --json, and not at all when piped', async () => {
    project = makeProject({ records: 20, delayMs: 0 });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const forced = await runCli(['status'], dir, { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\u001b[32mok\u001b[39m');
    const runs = await runCli(['runs'], dir, { FORCE_COLOR: '1' });
    expect(runs.stdout).toContain('\u001b[32mok\u001b[39m');
    const json = await runCli(['status', '--json'], dir, { FORCE_COLOR: '1' });
    expect(json.stdout).not.toMatch(COLOUR);
    expect(JSON.parse(json.stdout)[0].status).toBe('ok');
    expect((await runCli(['runs', '--json'], dir, { FORCE_COLOR: '1' })).stdout).not.toMatch(COLOUR);
    const piped = await runCli(['status'], dir);
    expect(piped.stdout).toMatch(/items\s+\S.* ago\s+ok\s/);
    expect(piped.stdout + piped.stderr).not.toMatch(COLOUR);
    const off = await runCli(['status'], dir, { FORCE_COLOR: '0' });
    expect(off.stdout).not.toMatch(COLOUR);
  }, 180_000);

  it('shows the checkpoint in words or short JSON and the lag in its largest unit; --json only adds fields', async () => {
    project = makeProject({ records: 20, delayMs: 0 });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const table = await runCli(['status'], dir);
    // The records' newest updated_at is 2026-01-01T00:00:19Z: days ago, or '-' before then.
    expect(table.stdout).toMatch(/items\s+.+ ago\s+ok\s+20\s+\{"after":20\}\s+(\d+ d( \d+ h)?|-)\s+0$/m);
    const [row] = JSON.parse((await runCli(['status', '--json'], dir)).stdout);
    expect(row).toMatchObject({ checkpoint: { after: 20 }, checkpointSummary: '{"after":20}' });
    expect(typeof row.lagSeconds === 'number' || row.lagSeconds === null).toBe(true);
  }, 180_000);

  it('lists runs with their mode, deleted count and a readable duration', async () => {
    const byKey = `fetchByKey: async function* ({ request, checkpoint }) {
        yield { records: [], tombstones: request.keys.map((k) => ({ key: { id: Number(k) }, deletedAt: null })), checkpoint };
      },`;
    project = makeProject({ records: 20, delayMs: 0, streamOptions: byKey });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    expect((await runCli(['refresh', 'items', '3'], dir)).code).toBe(0);
    const runs = await runCli(['runs'], dir);
    const [header, refresh, sync] = runs.stdout.trim().split('\n');
    expect(header).toMatch(
      /^RUN\s+STREAM\s+MODE\s+STATUS\s+STARTED\s+TOOK\s+PAGES\s+FETCHED\s+INS\s+UPD\s+DEL\s+SAME\s+STALE\s+FAILED\s+ERROR$/,
    );
    // TOOK, then PAGES FETCHED INS UPD DEL SAME STALE FAILED.
    const duration = '\\d+ ms|\\d+\\.\\d s|\\d+ s';
    expect(refresh).toMatch(
      new RegExp(`\\sitems\\s+refresh\\s+ok\\s+.+\\s(${duration})\\s+1\\s+0\\s+0\\s+0\\s+1\\s+0\\s+0\\s+0$`),
    );
    expect(sync).toMatch(
      new RegExp(`\\sitems\\s+sync\\s+ok\\s+.+\\s(${duration})\\s+1\\s+20\\s+20\\s+0\\s+0\\s+0\\s+0\\s+0$`),
    );
  }, 180_000);

  it('keeps the checkpoint and exits 0 when the reset prompt is answered no', async () => {
    project = makeProject({ records: 10, delayMs: 0 });
    const { dir } = project;
    expect((await runCli(['sync'], dir)).code).toBe(0);
    const run = spawnInPty(['reset', 'items'], dir);
    await run.waitFor('[y/N]');
    run.type('n\r');
    const { code, output } = await run.done;
    expect(output).toContain('not reset');
    expect(code).toBe(0);
    const [status] = JSON.parse((await runCli(['status', '--json'], dir)).stdout);
    expect(status.checkpoint).toEqual({ after: 10 });
  }, 180_000);

  it('explains the symbols of the live line in sync --help', async () => {
    project = makeProject({ records: 1 });
    const help = await runCli(['sync', '--help'], project.dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('+ inserted  ~ updated  = unchanged  - deleted  ! failed');
  }, 60_000);

  it('prints the stopping message on Ctrl-C above the live line, not into it', async () => {
    project = makeProject({ records: 100_000, pageSize: 10, delayMs: 20 });
    const run = spawnInPty(['sync'], project.dir);
    await run.waitFor(' records ');
    run.type('\u0003');
    const { code, output } = await run.done;
    expect(code).toBe(130);
    const screen = renderScreen(output);
    const message = screen.filter((l) => l.includes('stopping after the page in progress'));
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(/^WARN stopping after the page in progress/);
    const live = screen.filter((l) => l.startsWith('items ') && l.includes(' records '));
    expect(live).toHaveLength(1);
    expect(live[0]).toMatch(/^items\s+\| \d+ pages \| [\d,]+ records \| .* {2}interrupted$/);
  }, 180_000);

  it('gives the terminal its cursor back when a second Ctrl-C exits at once', async () => {
    project = makeProject({ records: 1000, pageSize: 10, delayMs: 5000 });
    const run = spawnInPty(['sync'], project.dir);
    await run.waitFor(' records ');
    run.type('\u0003');
    await run.waitFor('send again to exit at once');
    run.type('\u0003');
    const { code, output } = await run.done;
    expect(code).toBe(130);
    // The live lines hide the cursor while they draw; the last word on it must be "show".
    expect(output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(output.lastIndexOf('\u001b[?25l'));
  }, 180_000);
});
