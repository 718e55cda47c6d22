/**
 * The service (`syncline run`'s `startService`, no HTTP API) keeping many small streams fresh on a
 * short schedule, in its own process, for a fixed time. Measures how late each run starts against
 * the time it was due, and the CPU the process uses while no run is in progress (the scheduler's
 * own overhead: its timer, its bookkeeping, the idle event loop).
 */

import { SILENT_LOGGER } from '../src/core/types.ts';
import { defineConfig, http } from '../src/index.ts';
import { createRuntime } from '../src/runtime/create-runtime.ts';
import { type Service, startService } from '../src/runtime/service.ts';
import { childArgs, peakRssMb, progress, runChildMain } from './child-io.ts';
import { PAGE_SIZE } from './page-walk.ts';

export interface ServiceChildArgs {
  readonly apiUrl: string;
  readonly store: string;
  readonly streams: number;
  readonly everyMs: number;
  /** Runs starting before this (the first full syncs, all due at once) are not judged. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly concurrency: number;
}

export interface ServiceChildResult {
  /** Runs started after the warm-up, and how late each started against its due time (ms). */
  readonly runs: number;
  readonly latenessMs: { readonly p50: number; readonly p95: number; readonly max: number };
  /** Runs of the whole time that did not end `ok`. */
  readonly notOk: number;
  /** Seconds of the measured time in which no run was in progress, and the CPU used then (% of one core). */
  readonly idleSeconds: number;
  readonly idleCpuPercent: number;
  /** CPU of the whole measured time, runs included (% of one core). */
  readonly totalCpuPercent: number;
  readonly peakRssMb: number;
}

/** Length of one CPU sample; a sample counts as idle when no run was in progress at any point in it. */
const SLICE_MS = 250;

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<ServiceChildResult> {
  const args = childArgs<ServiceChildArgs>();
  const every = `${args.everyMs}ms`;
  const config = defineConfig({
    store: args.store,
    streams: Array.from({ length: args.streams }, (_, i) =>
      http.stream({
        name: `customers_${i}`,
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        request: { baseUrl: args.apiUrl, path: '/v1/customers', query: { style: 'cursor' } },
        pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
        pageSize: PAGE_SIZE,
        incremental: { param: 'updated_since', lookback: '10m', safetyLag: '1s' },
        schedule: { every },
      }),
    ),
    sync: { concurrency: args.concurrency },
  });
  const runtime = createRuntime({ config: { code: config } });
  const dueAt = new Map<string, number>();
  const lateness: number[] = [];
  let active = 0;
  let touched = false;
  let notOk = 0;
  let service: Service | null = null;
  const began = Date.now();
  const capture = () => {
    for (const s of service?.scheduler.status() ?? []) {
      if (s.state !== 'running' && s.nextRunAt) dueAt.set(s.stream, Date.parse(s.nextRunAt));
    }
  };
  service = await startService({ runtime, log: SILENT_LOGGER, onChange: capture });
  await service.start();
  capture();
  service.events.on('run:started', ({ stream }) => {
    active++;
    touched = true;
    const now = Date.now();
    const due = dueAt.get(stream);
    if (now - began >= args.warmupMs && due !== undefined) lateness.push(Math.max(0, now - due));
  });
  service.events.on('run:finished', ({ status }) => {
    active--;
    touched = true;
    if (status !== 'ok') notOk++;
  });

  // Measure after the warm-up: idle slices are those with no run in progress from start to end.
  await new Promise((r) => setTimeout(r, args.warmupMs));
  let idleMs = 0;
  let idleCpu = 0;
  const cpuStart = cpuMicros();
  const wallStart = performance.now();
  await new Promise<void>((resolve) => {
    let last = cpuMicros();
    let lastAt = performance.now();
    touched = active > 0;
    const timer = setInterval(() => {
      const cpu = cpuMicros();
      const at = performance.now();
      if (!touched && active === 0) {
        idleMs += at - lastAt;
        idleCpu += cpu - last;
      }
      last = cpu;
      lastAt = at;
      touched = active > 0;
      if (at - wallStart >= args.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, SLICE_MS);
  });
  const totalCpu = cpuMicros() - cpuStart;
  const wallMs = performance.now() - wallStart;
  await service.stop();
  await runtime.close();
  lateness.sort((a, b) => a - b);
  const result: ServiceChildResult = {
    runs: lateness.length,
    latenessMs: { p50: percentile(lateness, 50), p95: percentile(lateness, 95), max: lateness.at(-1) ?? 0 },
    notOk,
    idleSeconds: idleMs / 1000,
    idleCpuPercent: idleMs > 0 ? (idleCpu / 1000 / idleMs) * 100 : 0,
    totalCpuPercent: (totalCpu / 1000 / wallMs) * 100,
    peakRssMb: peakRssMb(),
  };
  progress(
    `${result.runs} runs judged, lateness p95 ${result.latenessMs.p95} ms, idle CPU ${result.idleCpuPercent.toFixed(2)}% over ${result.idleSeconds.toFixed(1)} s`,
  );
  return result;
}

runChildMain(main);
