import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCrm } from '../helpers/fake-crm.ts';
import { INDEX, runCli } from './cli-harness.ts';

// Slow-ish: a handful of real `syncline` processes against a CRM over loopback.

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
  let crm: FakeCrm;
  let p: { dir: string; cleanup(): void };
  beforeEach(async () => {
    crm = await new FakeCrm().start();
    p = project(crm.url);
  });
  afterEach(async () => {
    p.cleanup();
    await crm.stop();
  });

  it('writes every record once, dead-letters what the API refuses (exit 1), sends only changes next time', async () => {
    const env = { CRM_TOKEN: crm.token };
    expect((await runCli(['sync'], p.dir, env)).code).toBe(0);
    const first = await runCli(['push'], p.dir, env);
    expect(first.stderr).not.toContain(crm.token);
    expect(first.stdout).toContain(
      'destination "crm": caught up at seq 20 of 20; 2 record(s) refused: `syncline failed`',
    );
    expect(first.code).toBe(1);
    expect(crm.contacts.size).toBe(18); // 7 and 14 have no email: 422
    const failed = await runCli(['failed'], p.dir, env);
    expect(failed.stdout).toContain('422');
    const requests = crm.requests.length;

    // Nothing changed: a second push sends nothing and exits 0.
    const again = await runCli(['push'], p.dir, env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('destination "crm": caught up at seq 20 of 20');
    expect(crm.requests.length).toBe(requests);
    const status = await runCli(['sinks', 'status'], p.dir, env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^crm\s+destination\s+20\s+0\s/m);

    // A new revision changes every name: PATCHes only, no second object.
    expect((await runCli(['sync'], p.dir, { ...env, TEST_REV: '1' })).code).toBe(0);
    const third = await runCli(['push', 'crm'], p.dir, { ...env, TEST_REV: '1' });
    expect(third.stdout).toContain('caught up at seq 40 of 40');
    expect(crm.contacts.size).toBe(18);
    const sent = crm.requests.slice(requests);
    expect(sent.filter((r) => r.method === 'PATCH')).toHaveLength(18);
    expect(sent.every((r) => r.authorization === `Bearer ${crm.token}`)).toBe(true);
  });

  it('names what is wrong in one line: a missing token (exit 2), an unknown destination (exit 2), a refused token (exit 1)', async () => {
    expect((await runCli(['sync'], p.dir, { CRM_TOKEN: crm.token })).code).toBe(0);
    const noToken = await runCli(['push'], p.dir, { CRM_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr.trim()).toBe(
      'syncline: destination "crm": environment variable CRM_TOKEN (tokenEnv) is not set',
    );
    const unknown = await runCli(['push', 'erp'], p.dir, { CRM_TOKEN: crm.token });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown destination "erp"; the config\'s destinations are crm');
    const refused = await runCli(['push'], p.dir, { CRM_TOKEN: 'wrong-token' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /destination "crm": GET 127\.0\.0\.1:\d+\/contacts answered 401: the destination refused the credentials/,
    );
    expect(refused.stderr).not.toContain('wrong-token');
    expect(crm.contacts.size).toBe(0);
  });
});
