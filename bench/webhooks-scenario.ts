import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signWebhook } from '../src/sources/webhook/webhook-signature.ts';
import { BenchError } from './bench-error.ts';
import type { Sizes } from './bench-options.ts';
import { REPO_ROOT } from './child-process.ts';
import type { Locations, StoreKind } from './locations.ts';

/**
 * The webhooks section (issue 23): a `syncline run` child with one webhook stream (Standard
 * Webhooks signatures), and the bench process as the provider. It measures how fast the service
 * answers a delivery (the event is in the inbox, durable, when the answer leaves: the provider
 * waits for that), one delivery at a time and with several in flight, and how fast the stream's
 * runs then apply what came in (from the first delivery of the burst to an empty inbox).
 */

const SECRET = 'whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OQ==';
const TOKEN = 'bench-api-token';

export interface LatencySummary {
  readonly events: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface WebhooksRun {
  readonly store: StoreKind;
  /** One delivery at a time: the answer's latency as the provider sees it. */
  readonly sequential: LatencySummary;
  /** `inFlight` deliveries at once: answers per second, and their latency. */
  readonly burst: LatencySummary & { readonly inFlight: number; readonly acceptedPerSecond: number };
  /** The burst applied: from its first delivery until the inbox was empty, records per second. */
  readonly appliedPerSecond: number;
  /**
   * Deliveries sent at a fixed rate (open loop, as a provider's burst: each at its time, however
   * many are in flight, up to a cap), retried on any failure as providers do; latency from the
   * first try to the 2xx.
   */
  readonly paced: LatencySummary & {
    readonly targetPerSecond: number;
    readonly seconds: number;
    /** Deliveries answered 2xx per second over the whole burst (until the last answer). */
    readonly answeredPerSecond: number;
    /** Deliveries that never got a 2xx (after 5 tries): must be 0. */
    readonly lost: number;
    /** Tries beyond the first. */
    readonly retries: number;
    /** The most deliveries in flight at once. */
    readonly peakInFlight: number;
  };
}

export interface WebhooksScenario {
  readonly runs: readonly WebhooksRun[];
}

/**
 * 2,000 deliveries of each kind at full size, 200 below; 16 in flight in the burst; the paced burst
 * at 2,000/s for 10 s (1 s below), at most 512 in flight.
 */
function shape(sizes: Sizes) {
  const full = sizes.records >= 100_000;
  return {
    sequential: full ? 2000 : 200,
    burst: full ? 2000 : 200,
    inFlight: 16,
    keys: 500,
    pacedRate: 2000,
    pacedSeconds: full ? 10 : 1,
    pacedMaxInFlight: 512,
  };
}

export async function runWebhooksScenario(
  locations: Locations,
  sizes: Sizes,
  log: (line: string) => void,
): Promise<WebhooksScenario> {
  const runs: WebhooksRun[] = [];
  for (const store of ['sqlite', 'postgres'] as const) {
    log(`webhooks: ${store}`);
    const location = await locations.fresh(store);
    try {
      runs.push(await measure(store, location.location, sizes, locations));
    } finally {
      await locations.drop(location);
    }
  }
  return { runs };
}

async function measure(
  store: StoreKind,
  location: string,
  sizes: Sizes,
  locations: Locations,
): Promise<WebhooksRun> {
  const s = shape(sizes);
  const dir = locations.scratchDir();
  writeFileSync(
    join(dir, 'syncline.config.yaml'),
    `streams:
  - name: orders
    type: webhook
    key: id
    version: version
    webhook:
      scheme: { type: standard }
      secretsEnv: BENCH_WEBHOOK_SECRET
      record: data
`,
  );
  const service = await startService(dir, location);
  try {
    let n = 0;
    const deliver = async () => {
      const i = ++n;
      const body = JSON.stringify({
        type: 'order.updated',
        data: { id: `o${i % s.keys}`, version: i, total: i * 3, note: 'x'.repeat(200) },
      });
      const headers = {
        ...signWebhook({ type: 'standard' }, SECRET, { body, id: `evt_${i}` }),
        'content-type': 'application/json',
      };
      const began = performance.now();
      const res = await fetch(`${service.url}/v1/webhooks/orders`, { method: 'POST', body, headers });
      await res.text();
      if (res.status !== 200) throw new BenchError(`webhooks: delivery ${i} answered ${res.status}`);
      return performance.now() - began;
    };
    // Warm-up (connections, JIT), not judged.
    for (let i = 0; i < 50; i++) await deliver();
    await drained(service);
    const sequential: number[] = [];
    for (let i = 0; i < s.sequential; i++) sequential.push(await deliver());
    await drained(service);

    const burst: number[] = [];
    const began = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: s.inFlight }, async () => {
        while (next++ < s.burst) burst.push(await deliver());
      }),
    );
    const acceptedMs = performance.now() - began;
    await drained(service);
    const appliedMs = performance.now() - began;

    // The paced burst: each delivery leaves at its time; a failed one is tried again (5 tries).
    const total = s.pacedRate * s.pacedSeconds;
    const paced: number[] = [];
    let lost = 0;
    let retries = 0;
    let inFlight = 0;
    let peakInFlight = 0;
    const pacedBegan = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = pacedBegan + (i * 1000) / s.pacedRate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      while (inFlight >= s.pacedMaxInFlight) await sleep(1);
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      pending.push(
        (async () => {
          const first = performance.now();
          for (let attempt = 1; ; attempt++) {
            try {
              await deliver();
              paced.push(performance.now() - first);
              return;
            } catch {
              if (attempt >= 5) {
                lost++;
                return;
              }
              retries++;
              await sleep(50 * attempt);
            }
          }
        })().finally(() => {
          inFlight--;
        }),
      );
    }
    await Promise.all(pending);
    const answeredMs = performance.now() - pacedBegan;
    await drained(service);
    return {
      store,
      sequential: summary(sequential),
      burst: { ...summary(burst), inFlight: s.inFlight, acceptedPerSecond: (s.burst * 1000) / acceptedMs },
      appliedPerSecond: (s.burst * 1000) / appliedMs,
      paced: {
        ...summary(paced),
        targetPerSecond: s.pacedRate,
        seconds: s.pacedSeconds,
        answeredPerSecond: (paced.length * 1000) / answeredMs,
        lost,
        retries,
        peakInFlight,
      },
    };
  } finally {
    await service.stop();
  }
}

/** Waits until the stream's inbox backlog is 0 (every delivery applied). */
async function drained(service: Service): Promise<void> {
  const end = Date.now() + 120_000;
  for (;;) {
    const res = await fetch(`${service.url}/v1/streams`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const streams = (await res.json()) as { stream: string; webhook?: { backlog: number } }[];
    const orders = streams.find((x) => x.stream === 'orders');
    if (orders?.webhook?.backlog === 0) return;
    if (Date.now() > end) {
      throw new BenchError(
        `webhooks: the inbox was not applied within 2 minutes; the stream: ${JSON.stringify(orders)}; the service's last lines: ${service.stderr().slice(-3000)}`,
      );
    }
    await sleep(20);
  }
}

interface Service {
  readonly url: string;
  /** The tail of what the service wrote to stderr. */
  stderr(): string;
  stop(): Promise<void>;
}

function summary(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { events: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1)! };
}

/** `syncline run` in `dir` on a free loopback port; resolves once its API listens. */
async function startService(dir: string, store: string): Promise<Service> {
  const child: ChildProcess = spawn(
    process.execPath,
    [resolve(REPO_ROOT, 'bin', 'syncline.mjs'), 'run', '--store', store, '--listen', '127.0.0.1:0'],
    {
      cwd: dir,
      env: { ...process.env, BENCH_WEBHOOK_SECRET: SECRET, SYNCLINE_API_TOKEN: TOKEN, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  // What the service said besides its request lines, for a failure's message.
  let said = '';
  child.stderr!.on('data', (d: Buffer) => {
    const lines = d
      .toString()
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('"msg":"request"'));
    if (lines.length > 0) said = `${said}${lines.join('\n')}\n`.slice(-6000);
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new BenchError(`webhooks: syncline run did not start: ${seen.slice(-500)}`)),
      30_000,
    );
    child.stderr!.on('data', (d: Buffer) => {
      seen = (seen + d.toString()).slice(-4000);
      const match = /"api":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.once('close', (code) =>
      reject(new BenchError(`webhooks: syncline run exited ${code}: ${seen.slice(-500)}`)),
    );
  });
  return {
    url,
    stderr: () => said,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
