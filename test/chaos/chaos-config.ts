import { stringify } from 'yaml';

/** The pagination styles the chaos harness exercises, one stream each over the same dataset. */
export const CHAOS_STYLES = ['cursor', 'link', 'keyset', 'keyset-gte', 'page', 'offset', 'window'] as const;
export type ChaosStyle = (typeof CHAOS_STYLES)[number];

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
};

/**
 * Styles that also read the simulator's deleted-records feed, so their hard deletes arrive as
 * tombstones during the chaos, before the final reconciliation (the others find them only then).
 */
export const FEED_STYLES: ReadonlySet<ChaosStyle> = new Set(['cursor', 'keyset']);

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
};

/** A syncline.config.yaml reading the simulator's customers once per style, as a user would. */
export function chaosConfigYaml(baseUrl: string, styles: readonly ChaosStyle[], pageSize: number): string {
  return stringify({
    streams: styles.map((style) => ({
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
      request: { baseUrl, path: '/v1/customers', query: { style }, timeoutMs: 1500 },
      pagination: PAGINATION[style],
      pageSize,
      ...(style === 'page' ? { pageSizeParam: 'per_page' } : {}),
      ...(INCREMENTAL_STYLES.has(style)
        ? { incremental: { param: 'updated_since', lookback: LOOKBACK_MS, safetyLag: '1s' } }
        : {}),
      ...(FEED_STYLES.has(style) ? { deletes: { feed: { path: '/v1/customers/deleted' } } } : {}),
    })),
    sync: {
      concurrency: styles.length,
      maxPagesInFlight: 2,
      leaseTtlMs: 5000,
      retry: { maxAttempts: 12, budget: 5000, baseDelayMs: 20, maxDelayMs: 500, minDelayMs: 10 },
    },
  });
}
