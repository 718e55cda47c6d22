import { defineConfig, http } from '../src/index.ts';
import { PAGE_SIZE } from './page-walk.ts';

/**
 * The stream every Syncline run of the bench syncs: `customers` as
 * `examples/demo/syncline.config.yaml` declares it (Stripe-like cursor pages, incremental with a
 * lookback and a safety lag). The scenario reads the two durations to count the lookback window
 * and to time its runs.
 */

export const LOOKBACK_MS = 3_600_000;
export const SAFETY_LAG_MS = 2000;

export function customersConfig(apiUrl: string, store: string) {
  return defineConfig({
    store,
    streams: [
      http.stream({
        name: 'customers',
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        deleted: 'deleted',
        request: { baseUrl: apiUrl, path: '/v1/customers', query: { style: 'cursor' } },
        pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
        pageSize: PAGE_SIZE,
        incremental: { param: 'updated_since', lookback: LOOKBACK_MS, safetyLag: SAFETY_LAG_MS },
      }),
    ],
  });
}
