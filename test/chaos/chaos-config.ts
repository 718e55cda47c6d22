import { stringify } from 'yaml';

/** The pagination styles the chaos harness exercises, one stream each over the same dataset. */
export const CHAOS_STYLES = ['cursor', 'link', 'keyset', 'keyset-gte', 'page', 'offset', 'window'] as const;
/**
 * Styles run only when named (`--style feed`): not in `all`, so the chaos runs of `npm test` keep
 * their streams and load. `feed` reads the simulator's changes feed of the same customers.
 */
export const EXTRA_STYLES = ['feed'] as const;
export type ChaosStyle = (typeof CHAOS_STYLES)[number] | (typeof EXTRA_STYLES)[number];

/** Styles whose passes start at the watermark (the others read everything every run). */
export const INCREMENTAL_STYLES: ReadonlySet<ChaosStyle> = new Set([
  'cursor',
  'link',
  'keyset',
  'keyset-gte',
  'window',
]);

/** How long each incremental stream looks back: more than the simulator's backdate reach (1 h). */
export const LOOKBACK_MS = 2 * 3_600_000;

/**
 * How each stream takes a version regression (the simulator restores records from older backups).
 * Most apply it (`accept`) and must end equal to the source; one incremental and one full-refresh
 * stream keep the default, so every regression still current at the end must be held out as an
 * open dead letter while the local row keeps its higher version.
 */
export const REGRESSION_POLICY: Readonly<Record<ChaosStyle, 'accept' | 'deadLetter'>> = {
  cursor: 'accept',
  link: 'deadLetter',
  keyset: 'accept',
  'keyset-gte': 'accept',
  page: 'accept',
  offset: 'deadLetter',
  window: 'accept',
  feed: 'accept',
};

/**
 * Styles that also read the simulator's deleted-records feed, so their hard deletes arrive as
 * tombstones during the chaos, before the final reconciliation (the others find them only then).
 */
export const FEED_STYLES: ReadonlySet<ChaosStyle> = new Set(['cursor', 'keyset']);

/**
 * Styles that read a changes feed: every change, hard deletes and backdated updates included,
 * arrives through the feed, so such a stream must equal the source before any reconciliation, and
 * its checkpoint's token (a sequence number) must never go back.
 */
export const CHANGES_FEED_STYLES: ReadonlySet<ChaosStyle> = new Set(['feed']);

/** The stream (and table) name for a style. */
export function streamName(style: ChaosStyle): string {
  return `customers_${style.replace('-', '_')}`;
}

const PAGINATION: Record<ChaosStyle, object> = {
  cursor: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
  link: { type: 'link' },
  keyset: { type: 'keyset', afterIdParam: 'after_id' },
  'keyset-gte': { type: 'keyset', offsetParam: 'offset' },
  page: { type: 'page', hasMorePath: 'has_more' },
  offset: { type: 'offset', overlap: 10 },
  window: { type: 'window', window: 120 * 86_400_000, start: '2019-12-01T00:00:00Z', offsetParam: 'offset' },
  feed: { type: 'feed', tokenPath: 'last_seq', param: 'since', pendingPath: 'pending' },
};

/**
 * Where each style reads: the list with its `style`, or the changes feed with the record mapping
 * that turns its rows into the listed records (hard deletes arrive as deleted rows).
 */
function reading(style: ChaosStyle, baseUrl: string): object {
  const request = { baseUrl, timeoutMs: 1500 };
  if (style !== 'feed') return { request: { ...request, path: '/v1/customers', query: { style } } };
  return {
    request: { ...request, path: '/v1/customers/changes' },
    records: 'results',
    record: 'doc',
    deletedPath: 'deleted',
    fields: { rename: { _id: 'id' }, drop: ['_rev'] },
  };
}

/** A syncline.config.yaml reading the simulator's customers once per style, as a user would. */
export function chaosConfigYaml(
  baseUrl: string,
  styles: readonly ChaosStyle[],
  pageSize: number,
  /** For `syncline run`: every stream's schedule (jitter included). */
  schedule?: { every: string; jitter: string },
  /** The config's `sinks:` entries (`--sinks`); none by default. */
  sinks: readonly Record<string, unknown>[] = [],
  /** The config's `destinations:` entries (`--destination`); none by default. */
  destinations: readonly Record<string, unknown>[] = [],
  /** Streams of other kinds, after the styles' (`--webhooks`: the webhook stream). */
  extraStreams: readonly Record<string, unknown>[] = [],
): string {
  return stringify({
    ...(schedule ? { service: { schedule, shutdownTimeout: '20s' } } : {}),
    // The sinks' check compares what they received with the whole change log, read at the end: a
    // retention far longer than any chaos run keeps every row (registered consumers would hold
    // back a prune anyway, but the check needs the rows they passed too).
    ...(sinks.length > 0 ? { sinks, changes: { retention: '7d' } } : {}),
    ...(destinations.length > 0 ? { destinations } : {}),
    streams: [
      ...styles.map((style) => ({
        name: streamName(style),
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        deleted: 'deleted',
        // The simulator rewrites history (backdated updates) and hard-deletes a growing share of its
        // records on purpose: apply both, recording the evidence, rather than pausing for an operator
        // who is not there (a 10-minute run deletes ~15%, over the default 10% delete breaker).
        backfill: 'auto',
        reconcile: { maxDeleteShare: 1 },
        ...(REGRESSION_POLICY[style] === 'accept' ? { onVersionRegression: 'accept' } : {}),
        ...reading(style, baseUrl),
        pagination: PAGINATION[style],
        pageSize,
        ...(style === 'page' ? { pageSizeParam: 'per_page' } : {}),
        ...(INCREMENTAL_STYLES.has(style)
          ? { incremental: { param: 'updated_since', lookback: LOOKBACK_MS, safetyLag: '1s' } }
          : {}),
        ...(FEED_STYLES.has(style) ? { deletes: { feed: { path: '/v1/customers/deleted' } } } : {}),
      })),
      ...extraStreams,
    ],
    sync: {
      concurrency: styles.length + extraStreams.length,
      maxPagesInFlight: 2,
      leaseTtlMs: 5000,
      retry: { maxAttempts: 12, budget: 5000, baseDelayMs: 20, maxDelayMs: 500, minDelayMs: 10 },
    },
  });
}
