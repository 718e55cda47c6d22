import { expect, it } from 'vitest';
import { runChaos } from './chaos-harness.ts';

/**
 * The chaos cases of one store in npm test: a 30-second run over every pagination style (kills,
 * faults, a changing source, version regressions included), then the store must equal the source;
 * then the service's cases (sinks, a destination; webhooks and WebSocket on SQLite). Each store's
 * file (`chaos-<store>.test.ts`) calls it. Seeds that longer runs (`npm run chaos`) found bugs with
 * are replayed by hand once their bug has a test of its own, e.g. seed 3 on PostgreSQL (a run
 * resuming a killed pass missed changes behind its position; test/integration/http-sources.test.ts):
 * `npm run chaos -- --seed 3 --store postgres --minutes 0.5 --regress 0`.
 */

/**
 * The seeds of the destination case: even on SQLite (the CRM's idempotency off), odd on PostgreSQL
 * (on); see `idempotencyForSeed`.
 */
const DESTINATION_SEEDS = { sqlite: 12, postgres: 13 } as const;

export function describeChaos(store: 'sqlite' | 'postgres'): void {
  it(`loses, duplicates and keeps stale nothing on ${store} under kills, faults and a changing source`, async () => {
    const report = await runChaos({ seed: 7, durationMs: 30_000, store, minKills: 4 });
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.kills).toBeGreaterThan(3);
    // The source rolled records back, and the streams saw it.
    expect(report.versionRegressions).toBeGreaterThan(0);
    expect(report.regressionsAccepted).toBeGreaterThan(0);
    process.stdout.write(`${report.summary}\n`);
  }, 240_000);

  // The services also deliver the sinks (a webhook, Redis streams, a NATS JetStream stream) and serve
  // an SSE client: Redis must run at 127.0.0.1:6379 and NATS (JetStream) at 127.0.0.1:4222, and a
  // missing one fails the test saying how to start it.
  it(`loses, duplicates and keeps stale nothing on ${store} when the service (syncline run) is killed and stopped, and its sinks deliver every change in order`, async () => {
    const report = await runChaos({
      seed: 11,
      durationMs: 20_000,
      store,
      process: 'run',
      sinks: true,
      minKills: 3,
    });
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.kills).toBeGreaterThan(2);
    expect(report.sinks.map((s) => s.name)).toEqual([
      'chaos_webhook',
      'chaos_redis',
      'chaos_nats',
      'chaos_sse',
    ]);
    for (const sink of report.sinks) {
      expect(sink.inLog).toBeGreaterThan(0);
      expect({
        sink: sink.name,
        missing: sink.missing,
        unknown: sink.unknown,
        outOfOrder: sink.outOfOrder,
      }).toEqual({ sink: sink.name, missing: 0, unknown: 0, outOfOrder: 0 });
    }
    process.stdout.write(`${report.summary}\n`);
  }, 240_000);

  // The services also push the customers into the simulator's CRM (a destination, mode mirror) while
  // it loses the answers of writes it applied: each store runs a seed of its own, so one runs with the
  // CRM's Idempotency-Key support off (find-before-create alone keeps contacts single) and one on.
  it(`leaves every record exactly one current contact in the CRM on ${store} when the service pushing it is killed and the CRM loses answers`, async () => {
    const seed = DESTINATION_SEEDS[store];
    const report = await runChaos({
      seed,
      durationMs: 25_000,
      store,
      process: 'run',
      destination: true,
      minKills: 2,
    });
    const check = report.destination!;
    expect(report.problems).toEqual([]);
    expect(report.differences).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.kills).toBeGreaterThan(1);
    expect(check.idempotency).toBe(store === 'postgres');
    expect({
      missing: check.missing,
      duplicated: check.duplicated,
      stale: check.stale,
      zombie: check.zombie,
      unmapped: check.unmapped,
      deadLetters: check.deadLetters,
    }).toEqual({ missing: 0, duplicated: 0, stale: 0, zombie: 0, unmapped: 0, deadLetters: 0 });
    expect(check.liveRecords).toBeGreaterThan(0);
    expect(check.contacts).toBe(check.liveRecords);
    expect(check.lostResponses).toBeGreaterThan(0);
    process.stdout.write(`${report.summary}\n`);
  }, 240_000);

  // A webhook stream of the customers: a provider in the harness pushes every change as a signed
  // event into the killed services (5% never sent, 5% sent twice), retrying until answered 2xx; its
  // reconciliations over REST are the safety net for what was never sent.
  // In npm test on SQLite only, like the WebSocket case below (the inbox of each store has its own
  // integration tests): `npm run chaos -- --process run --webhooks --store postgres`.
  if (store === 'sqlite')
    it(`keeps every webhook answered 2xx on ${store} when the service receiving them is killed, and the safety net repairs the lost ones`, async () => {
      const report = await runChaos({
        seed: 31,
        durationMs: 15_000,
        store,
        process: 'run',
        webhooks: true,
        minKills: 2,
      });
      const check = report.webhooks!;
      expect(report.problems).toEqual([]);
      expect(report.differences).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.kills).toBeGreaterThan(1);
      expect({
        lost: check.lost,
        unknown: check.unknown,
        doubled: check.doubled,
        backlog: check.backlog,
      }).toEqual({
        lost: 0,
        unknown: 0,
        doubled: 0,
        backlog: 0,
      });
      expect(check.accepted).toBeGreaterThan(0);
      expect(check.dropped).toBeGreaterThan(0);
      expect(check.redelivered).toBeGreaterThan(0);
      expect(check.drift).toBeGreaterThan(0);
      process.stdout.write(`${report.summary}\n`);
    }, 240_000);

  // A WebSocket stream of live candles: the killed services reconnect and gap-fill over REST while
  // the feed drops, stalls and duplicates frames; after a last gap-fill, every closed candle stored.
  // In npm test on SQLite only (the source's logic does not depend on the store, and the PostgreSQL
  // file is the suite's longest): `npm run chaos -- --process run --websocket --store postgres`.
  if (store === 'sqlite')
    it(`stores every closed candle of a WebSocket feed on ${store} when the service reading it is killed and the feed drops, stalls and duplicates`, async () => {
      const report = await runChaos({
        seed: 41,
        durationMs: 15_000,
        store,
        process: 'run',
        websocket: true,
        minKills: 2,
      });
      const check = report.websocket!;
      expect(report.problems).toEqual([]);
      expect(report.differences).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.kills).toBeGreaterThan(1);
      expect({ missing: check.missing, stale: check.stale, unknown: check.unknown }).toEqual({
        missing: 0,
        stale: 0,
        unknown: 0,
      });
      expect(check.closed).toBeGreaterThan(0);
      expect(check.drops).toBeGreaterThan(0);
      process.stdout.write(`${report.summary}\n`);
    }, 240_000);
}
