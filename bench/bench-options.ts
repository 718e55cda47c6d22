import { resolve } from 'node:path';
import { BenchUsageError } from './bench-error.ts';
import { REPO_ROOT } from './child-process.ts';

/**
 * `npm run bench -- [--size full|tiny|<records>] [--out <dir>] [--only <sections>]`. Every size
 * derives from one number, so `--size tiny` runs every code path of the full bench in seconds.
 */

export const SECTIONS = [
  'limits',
  'baseline',
  'sqlite',
  'postgres',
  'medium',
  'large',
  'service',
  'events',
  'destinations',
  'webhooks',
  'cdc',
  'files',
  'changelog',
  'cluster',
] as const;
export type Section = (typeof SECTIONS)[number];
/**
 * What runs without `--only`: every section but `events`, which needs a NATS server and adds
 * several minutes at full size, `destinations`, which adds about eight, `cdc`, which starts
 * private PostgreSQL clusters, `changelog`, a question of scale-out rather than of a sync, and `cluster`, which starts up
 * to five processes and adds a few minutes
 * (`--only events`, or list it with the others).
 */
export const DEFAULT_SECTIONS: readonly Section[] = SECTIONS.filter(
  (s) =>
    s !== 'events' &&
    s !== 'destinations' &&
    s !== 'cdc' &&
    s !== 'files' &&
    s !== 'changelog' &&
    s !== 'cluster',
);

export const SECTION_HELP: Record<Section, string> = {
  limits: 'raw fetch, raw PostgreSQL COPY, raw SQLite INSERT of the full source',
  baseline: 'the hand-written sync (PostgreSQL and SQLite) on a bounded number of records',
  sqlite: 'Syncline into SQLite at full size: full sync, incremental after changes, unchanged poll',
  postgres: 'the same into PostgreSQL',
  medium: 'the same on both stores at a tenth of the size',
  large: 'Syncline into SQLite at five times the size: memory must not grow with the stream',
  service:
    'syncline run keeping 100 small streams fresh every 5 s: scheduler CPU while idle, lateness of runs',
  events:
    'sinks delivering a synced change log to NATS JetStream and a webhook receiver vs the raw clients; commit -> receiver latency at 1,000 changes/s (needs NATS)',
  destinations:
    'an HTTP destination pushing synced customers into the simulator CRM (20 ms per answer) at concurrency 1, 8, 32 and in bulk, vs its service rate and a hand-written fetch loop',
  webhooks:
    'syncline run receiving signed webhooks on both stores: delivery -> 2xx latency one at a time and 16 in flight, and how fast the inbox is applied',
  cdc: 'a cdc stream on a private PostgreSQL under a pgbench-style load: the snapshot, changes applied per second against the rate the source writes, end-to-end lag',
  files:
    'a CSV file source into SQLite: rows/s against a raw csv-parse pass over the same file (`--only files`)',
  changelog:
    "1, 2 and 4 writer processes committing small pages to streams of their own on one PostgreSQL store: page commits/s against the change log's ordering (`--only changelog`)",
  cluster:
    'syncline run as 1, 2 and 4 worker processes on one PostgreSQL store: time until 100 streams of a slow source are synced, and how late scheduled and triggered jobs start (`--only cluster`)',
};

export interface Sizes {
  /** The full source (1,000,000 at full size). */
  readonly records: number;
  /** The smaller incremental comparison (a tenth). */
  readonly medium: number;
  /** The memory check (five times). */
  readonly large: number;
  /** Records the hand-written baseline syncs (a twentieth, at least 500). */
  readonly baseline: number;
}

export interface BenchOptions {
  readonly sizeName: string;
  readonly sizes: Sizes;
  readonly outDir: string;
  readonly only: ReadonlySet<Section>;
}

const NAMED_SIZES: Record<string, number> = { full: 1_000_000, tiny: 2_000 };

export function sizesFor(records: number): Sizes {
  return {
    records,
    medium: Math.round(records / 10),
    large: records * 5,
    baseline: Math.max(500, Math.round(records / 20)),
  };
}

/** Changes made before an incremental run: 0.1% of the records, at least one. */
export function changesFor(records: number): number {
  return Math.max(1, Math.round(records / 1000));
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let sizeName = 'full';
  let outDir = resolve(REPO_ROOT, 'bench');
  let only: Set<Section> = new Set(DEFAULT_SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    if (flag !== '--size' && flag !== '--out' && flag !== '--only') {
      throw new BenchUsageError(`unknown option "${flag}"; options: --size, --out, --only`);
    }
    if (value === undefined || value.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
    i++;
    if (flag === '--size') sizeName = value;
    else if (flag === '--out') outDir = resolve(value);
    else only = parseSections(value);
  }
  const records = NAMED_SIZES[sizeName] ?? Number(sizeName);
  if (!Number.isInteger(records) || records < 1000) {
    throw new BenchUsageError(`--size must be full, tiny or a number of records >= 1000, got "${sizeName}"`);
  }
  return { sizeName, sizes: sizesFor(records), outDir, only };
}

function parseSections(list: string): Set<Section> {
  const sections = new Set<Section>();
  for (const name of list.split(',').map((s) => s.trim())) {
    if (!(SECTIONS as readonly string[]).includes(name)) {
      const known = SECTIONS.map((s) => `${s} (${SECTION_HELP[s]})`).join('; ');
      throw new BenchUsageError(`--only: unknown section "${name}"; sections: ${known}`);
    }
    sections.add(name as Section);
  }
  return sections;
}
