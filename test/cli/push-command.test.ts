import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import { INDEX, runCli } from './cli-harness.ts';

// Slow-ish: a handful of real `syncline` processes against the simulator's CRM over loopback.

const TOKEN = 'crm-token';

/** A project whose `people` (TEST_RECORDS of them; every 7th without an email) go to the CRM. */
function project(crmUrl: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-push-'));
  writeFileSync(
    join(dir, 'syncline.config.ts'),
    `import { defineConfig, defineStream } from ${JSON.stringify(INDEX)};
const total = Number(process.env.TEST_RECORDS ?? 20);
const rev = Number(process.env.TEST_REV ?? 0);
export default defineConfig({
  streams: [
    defineStream({
      name: 'people',
      key: 'id',
      version: 'version',
      async *source() {
        const records = [];
        for (let i = 1; i <= total; i++) {
          records.push({ id: i, version: rev + 1, name: 'person ' + i + ' rev ' + rev, ...(i % 7 === 0 ? {} : { email: 'p' + i + '@example.com' }) });
        }
        yield { records, checkpoint: null };
      },
    }),
  ],
  destinations: [
    {
      name: 'crm',
      type: 'http',
      streams: ['people'],
      baseUrl: ${JSON.stringify(crmUrl)},
      tokenEnv: 'CRM_TOKEN',
      allowPrivateTargets: true,
      map: { email: 'email', name: 'name', external_id: { template: '{id}' } },
      create: { path: '/contacts', idPath: 'id' },
      update: { path: '/contacts/{externalId}' },
      find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
    },
  ],
});
`,
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('syncline push', () => {
  let sim: SimulatorServer;
  let p: { dir: string; cleanup(): void };
  beforeEach(async () => {
    sim = await startSimulator({ datasets: {}, crm: { token: TOKEN } });
    p = project(`${sim.url}/crm`);
  });
  afterEach(async () => {
    p.cleanup();
    await sim.close();
  });

  it('writes every record once, dead-letters what the API refuses (exit 1), sends only changes next time', async () => {
    const env = { CRM_TOKEN: TOKEN };
    expect((await runCli(['sync'], p.dir, env)).code).toBe(0);
    const first = await runCli(['push'], p.dir, env);
    expect(first.stderr).not.toContain(TOKEN);
    expect(first.stdout).toContain(
      'destination "crm": caught up at seq 20 of 20; 2 record(s) refused: `syncline failed`',
    );
    expect(first.code).toBe(1);
    expect(sim.crm.contacts()).toHaveLength(18); // 7 and 14 have no email: 422
    const failed = await runCli(['failed'], p.dir, env);
    expect(failed.stdout).toContain('422');
    sim.crm.clearRequests();

    // Nothing changed: a second push sends nothing and exits 0.
    const again = await runCli(['push'], p.dir, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('destination "crm": caught up at seq 20 of 20');
    expect(sim.crm.requests()).toEqual([]);
    const status = await runCli(['sinks', 'status'], p.dir, env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^crm\s+destination\s+20\s+0\s/m);

    // A new revision changes every name: PATCHes only, no second object.
    expect((await runCli(['sync'], p.dir, { ...env, TEST_REV: '1' })).code).toBe(0);
    const third = await runCli(['push', 'crm'], p.dir, { ...env, TEST_REV: '1' });
    expect(third.stdout).toContain('caught up at seq 40 of 40');
    expect(sim.crm.contacts()).toHaveLength(18);
    const sent = sim.crm.requests();
    expect(sent.filter((r) => r.method === 'PATCH')).toHaveLength(18);
    // Every request carried the right bearer token (the log says so without keeping the token).
    expect(sent.every((r) => r.authorization === 'valid')).toBe(true);
  });

  it('redelivers the records the CRM refused with `sinks replay <destination>` once it accepts them: created once, mapped, settled, offset kept', async () => {
    const env = { CRM_TOKEN: TOKEN };
    expect((await runCli(['sync'], p.dir, env)).code).toBe(0);
    expect((await runCli(['push'], p.dir, env)).code).toBe(1); // 7 and 14: 422, no email
    expect(sim.crm.contacts()).toHaveLength(18);

    // status: the destination beside the streams, caught up, with its two refused records.
    const status = await runCli(['status'], p.dir, env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^DESTINATION\s+OFFSET\s+LAG\s+FAILED\s+UPDATED$/m);
    expect(status.stdout).toMatch(/^crm\s+20\s+0\s+2\s+\d{4}-/m);
    expect(status.stdout).toContain('`syncline sinks replay crm --all`');

    // A record replay does not write to the CRM: it says which command does.
    const letters = JSON.parse((await runCli(['failed', '--json'], p.dir, env)).stdout) as {
      id: number;
      key: string;
      sink: string;
    }[];
    expect(letters.map((d) => [d.key, d.sink]).sort()).toEqual([
      ['14', 'crm'],
      ['7', 'crm'],
    ]);
    const records = await runCli(['failed', 'replay', '--id', String(letters[0]!.id)], p.dir, env);
    expect(records.code).toBe(2);
    expect(records.stderr.trim()).toBe(
      `syncline: dead letter ${letters[0]!.id} is an event a destination refused, not a record: redeliver with \`syncline sinks replay crm --id <ids...>\``,
    );
    const all = await runCli(['failed', 'replay'], p.dir, env);
    expect(all.code).toBe(0);
    expect(all.stdout.trim()).toBe(
      '2 open letters are events a destination refused, not records: redeliver with `syncline sinks replay crm --all`',
    );

    // Still refused: open, with the new reason (exit 1); a refused token: one line, exit 1.
    const refused = await runCli(['sinks', 'replay', 'crm', '--all'], p.dir, env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('destination "crm": redelivered 0, refused again 2, left 0');
    const badToken = await runCli(['sinks', 'replay', 'crm', '--all'], p.dir, { CRM_TOKEN: 'wrong-token' });
    expect(badToken.code).toBe(1);
    expect(badToken.stderr.trim()).toMatch(
      /^syncline: destination "crm": \w+ 127\.0\.0\.1:\d+\/crm\/contacts\S* answered 401: the destination refused the credentials(;[^\n]*)?$/,
    );
    expect(badToken.stderr).not.toContain('wrong-token');

    sim.crm.configure({ requireEmail: false });
    const posts = () => sim.crm.requests().filter((r) => r.method === 'POST').length;
    const postsBefore = posts();
    const fixed = await runCli(['sinks', 'replay', 'crm', '--all'], p.dir, env);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout.trim()).toBe('destination "crm": redelivered 2, refused again 0, left 0');
    expect(posts() - postsBefore).toBe(2);
    expect(sim.crm.contacts()).toHaveLength(20);
    const again = await runCli(['sinks', 'replay', 'crm', '--all'], p.dir, env);
    expect(again.stdout.trim()).toBe('destination "crm" has no open dead letters to redeliver');

    const store = await openStore(join(p.dir, 'syncline.db'), { mode: 'read' });
    try {
      const mapped = await store.lookupMappings({ destination: 'crm', stream: 'people', keys: ['7', '14'] });
      const ids = sim.crm
        .contacts()
        .filter((c) => c.email === undefined)
        .map((c) => c.id);
      expect([...mapped.values()].map((m) => m.externalId).sort()).toEqual(ids.sort());
      const settled = await store.listDeadLetters({ ids: letters.map((d) => d.id), limit: 10, all: true });
      expect(settled.map((d) => d.status)).toEqual(['replayed', 'replayed']);
      expect(settled[0]!.reason).toContain('422');
      // The replay moved no offset: push had left it at 20.
      expect((await store.consumerOffset('destination:crm'))?.seq).toBe(20);
    } finally {
      await store.close();
    }

    // The next push has nothing to send: no request at all.
    sim.crm.clearRequests();
    const push = await runCli(['push'], p.dir, env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toContain('destination "crm": caught up at seq 20 of 20');
    expect(sim.crm.requests()).toEqual([]);
  });

  it('names what is wrong in one line: a missing token (exit 2), an unknown destination (exit 2), a refused token (exit 1)', async () => {
    expect((await runCli(['sync'], p.dir, { CRM_TOKEN: TOKEN })).code).toBe(0);
    const noToken = await runCli(['push'], p.dir, { CRM_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr.trim()).toBe(
      'syncline: destination "crm": environment variable CRM_TOKEN (tokenEnv) is not set',
    );
    const unknown = await runCli(['push', 'erp'], p.dir, { CRM_TOKEN: TOKEN });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown destination "erp"; the config\'s destinations are crm');
    const refused = await runCli(['push'], p.dir, { CRM_TOKEN: 'wrong-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /destination "crm": GET 127\.0\.0\.1:\d+\/crm\/contacts answered 401: the destination refused the credentials/,
    );
    expect(refused.stderr).not.toContain('wrong-token');
    expect(sim.crm.contacts()).toHaveLength(0);
  });
});
