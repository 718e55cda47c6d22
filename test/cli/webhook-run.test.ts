import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/runtime/open-store.ts';
import { signWebhook } from '../../src/sources/webhook/webhook-signature.ts';
import { apiUrlOf, type CliResult, collect, runCli, spawnCli } from './cli-harness.ts';

const SECRET = 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0';
const TOKEN = 'webhook-run-api-token';

/** Starts `syncline run` in `dir` and resolves with its API's URL once it listens. */
function startRun(dir: string): { child: ChildProcess; done: Promise<CliResult>; url: Promise<string> } {
  const child = spawnCli(['run', '--store', join(dir, 's.db'), '--listen', '127.0.0.1:0'], dir, {
    SYNCLINE_API_TOKEN: TOKEN,
    ORDERS_WEBHOOK_SECRET: SECRET,
  });
  const done = collect(child);
  const url = apiUrlOf(child);
  return { child, done, url };
}

describe('syncline run with a webhook stream (a real process, HTTP over loopback)', () => {
  let dir: string | null = null;
  let child: ChildProcess | null = null;
  let done: Promise<CliResult> | null = null;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await done;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every event it answered 2xx through a SIGKILL, applies them after the restart, and stops cleanly on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'syncline-webhook-'));
    writeFileSync(
      join(dir, 'syncline.config.yaml'),
      `streams:
  - name: orders
    type: webhook
    key: id
    version: version
    webhook:
      scheme: { type: standard }
      secretsEnv: ORDERS_WEBHOOK_SECRET
      record: data
      deleteTypes: [order.deleted]
`,
    );
    let run = startRun(dir);
    ({ child, done } = run);
    let url = await run.url;
    const send = async (base: string, i: number, version = 1) => {
      const body = JSON.stringify({
        type: 'order.updated',
        data: { id: `o${i}`, version, total: i * version },
      });
      const res = await fetch(`${base}/v1/webhooks/orders`, {
        method: 'POST',
        body,
        headers: {
          ...signWebhook({ type: 'standard' }, SECRET, { body, id: `evt_${i}_${version}` }),
          'content-type': 'application/json',
        },
      });
      return res.status;
    };
    // 40 events answered 200, then the process is killed at once: no chance to apply them all.
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => send(url, i)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    child.kill('SIGKILL');
    await done;

    run = startRun(dir);
    ({ child, done } = run);
    url = await run.url;
    // A redelivery of an event the killed process answered is a duplicate, not a second change.
    expect(await send(url, 0)).toBe(200);
    expect(await send(url, 40, 2)).toBe(200);
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    let view: { records: number; webhook: { backlog: number } } | undefined;
    for (let i = 0; i < 200; i++) {
      const streams = (await (await fetch(`${url}/v1/streams`, auth)).json()) as {
        stream: string;
        records: number;
        webhook: { backlog: number };
      }[];
      view = streams.find((s) => s.stream === 'orders');
      if (view?.records === 41 && view.webhook.backlog === 0) break;
      await sleep(50);
    }
    expect(view).toMatchObject({ records: 41, webhook: { backlog: 0 } });
    child.kill('SIGTERM');
    const ended = await done;
    expect(ended.code).toBe(0); // a clean stop: the runs ended at their checkpoints
    child = null;

    const status = await runCli(['status', '--store', join(dir, 's.db')], dir, {
      ORDERS_WEBHOOK_SECRET: SECRET,
    });
    expect(status.stdout).toMatch(/WEBHOOK STREAM\s+BACKLOG\s+DRIFT\n\s*orders\s+0\s+no reconciliation yet/);

    const store = await openStore(join(dir, 's.db'));
    try {
      const rows = await store.scanRecords('orders', { limit: 100 });
      expect(rows).toHaveLength(41);
      const runs = await store.listRuns({ stream: 'orders', limit: 50 });
      expect(runs.reduce((n, r) => n + r.counters.inserted, 0)).toBe(41);
      expect(await store.readInbox({ stream: 'orders', afterId: 0, limit: 100 })).toHaveLength(41);
    } finally {
      await store.close();
    }
  }, 90_000);
});
