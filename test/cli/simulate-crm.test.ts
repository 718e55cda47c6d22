import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BIN } from './cli-harness.ts';

describe('syncline simulate: CRM flags', () => {
  it('--crm-token and --crm-idempotency off reach the CRM of the simulator it starts', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'simulate', '--port', '0', '--customers', '0', '--orders', '0', '--candles', '0'].concat([
        '--crm-token',
        't0k',
        '--crm-idempotency',
        'off',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`simulate exited ${code} before printing its URL`)));
      });
      const post = (headers: Record<string, string>) =>
        fetch(`${url}/crm/contacts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': 'same', ...headers },
          body: JSON.stringify({ email: 'a@example.com' }),
        });
      expect((await post({})).status).toBe(401);
      expect((await post({ authorization: 'Bearer t0k' })).status).toBe(201);
      expect((await post({ authorization: 'Bearer t0k' })).status).toBe(201);
      const settings = (await (await fetch(`${url}/_admin/crm`)).json()) as Record<string, unknown>;
      expect(settings).toMatchObject({ token: 't0k', idempotency: false });
      const truth = (await (await fetch(`${url}/_admin/crm/contacts`)).json()) as { contacts: unknown[] };
      expect(truth.contacts).toHaveLength(2);
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  }, 60_000);

  it('refuses a --crm-idempotency that is neither on nor off', async () => {
    const child = spawn(process.execPath, [BIN, 'simulate', '--port', '0', '--crm-idempotency', 'maybe'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    expect(err).toContain('--crm-idempotency must be on or off, got "maybe"');
  }, 60_000);
});
