/**
 * One writer of the changelog section, in its own process: as a `syncline run` worker of a cluster
 * does, it opens the shared PostgreSQL store, holds the lease of a stream of its own and commits
 * pages into it through `Store.commitPage`, each page `pageSize` new records (one change-log row
 * each). Pages written before the start are a warm-up (connections, JIT, first plans), not counted.
 *
 * Prints `{ "ready": true }` once warmed up, starts on a line on stdin (`go`: every writer of a
 * round at once), commits for `durationMs`, then prints the result line.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Store } from '../src/core/store.ts';
import type { RecordWrite } from '../src/core/types.ts';
import { openStore } from '../src/runtime/open-store.ts';
import { childArgs, cpuSeconds, progress, runChildMain } from './child-io.ts';

export interface ChangelogChildArgs {
  /** A `postgres://...?schema=` URL: every writer of a round names the same. */
  readonly store: string;
  /** This writer's stream, which no other writer touches. */
  readonly stream: string;
  /** Records per page (one commit each). */
  readonly pageSize: number;
  /** Pages committed before `ready`, not counted. */
  readonly warmupPages: number;
  readonly durationMs: number;
}

export interface ChangelogChildResult {
  /** Pages committed in the measured window. */
  readonly commits: number;
  readonly records: number;
  /** From `go` to the end of the last counted commit. */
  readonly ms: number;
  /** CPU seconds of this process over the window. */
  readonly cpuSeconds: number;
}

let next = 0;

/** A page of `n` records with keys never written before: all inserts. */
function page(n: number, at: string): RecordWrite[] {
  const writes: RecordWrite[] = [];
  for (let i = 0; i < n; i++, next++) {
    const key = String(next);
    const data = JSON.stringify({ id: next, email: `user${next}@example.com`, plan: 'pro', at });
    writes.push({
      kind: 'insert',
      existed: false,
      key,
      data,
      hash: `h${next}`,
      version: null,
      cursor: null,
      deleted: false,
    });
  }
  return writes;
}

async function main(): Promise<ChangelogChildResult> {
  const args = childArgs<ChangelogChildArgs>();
  const store: Store = await openStore(args.store);
  const { stream } = args;
  const runId = `bench-${stream}-${process.pid}`;
  try {
    await store.ensureStream(stream);
    const at0 = new Date().toISOString();
    const got = await store.acquireLease({ stream, holder: runId, ttlMs: 600_000, at: at0 });
    if (!('lease' in got)) throw new Error(`stream ${stream} is leased by ${got.conflict.holder}`);
    const { lease } = got;
    await store.startRun({ runId, stream, lease, at: at0, checkpointBefore: null });
    let pages = 0;
    const commit = async (): Promise<void> => {
      const at = new Date().toISOString();
      pages++;
      await store.commitPage({
        stream,
        runId,
        lease,
        writes: page(args.pageSize, at),
        deadLetters: [],
        checkpoint: { page: pages },
        newestCursor: null,
        counters: { pages: 1, fetched: args.pageSize, inserted: args.pageSize },
        at,
      });
    };
    for (let i = 0; i < args.warmupPages; i++) await commit();

    const lines = createInterface({ input: process.stdin });
    const go = once(lines, 'line');
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    await go;
    lines.close();

    const cpuBefore = cpuSeconds();
    const began = performance.now();
    const until = began + args.durationMs;
    let commits = 0;
    let ended = began;
    while (performance.now() < until) {
      await commit();
      commits++;
      ended = performance.now();
    }
    const cpu = cpuSeconds() - cpuBefore;
    await store.finishRun({
      runId,
      status: 'ok',
      at: new Date().toISOString(),
      error: null,
      counters: {},
    });
    const ms = ended - began;
    progress(`${stream}: ${commits} pages in ${(ms / 1000).toFixed(1)} s`);
    return { commits, records: commits * args.pageSize, ms, cpuSeconds: cpu };
  } finally {
    await store.close();
  }
}

runChildMain(main);
