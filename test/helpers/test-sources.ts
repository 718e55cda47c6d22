import { setTimeout as sleep } from 'node:timers/promises';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import type { Page, SourceArgs } from '../../src/core/source.ts';
import { defineStream } from '../../src/core/stream-definition.ts';

export interface TestRecord {
  id: number;
  name: string;
  updated_at: string;
  version: number;
  deleted?: boolean;
}

/** The record `i` of a deterministic dataset (revision `rev` changes every name). */
export function testRecord(i: number, rev = 0): TestRecord {
  return {
    id: i,
    name: `record ${i} rev ${rev}`,
    updated_at: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1000).toISOString(),
    version: rev + 1,
  };
}

/**
 * A source over an in-memory array, resuming after `{ after: index }`. Options inject a failure
 * after some pages, a delay per page, and hooks to observe how far fetching runs ahead.
 */
export function arraySource<R>(
  records: readonly R[],
  options: {
    pageSize?: number;
    failAfterPages?: number;
    delayMs?: number;
    onPage?: (n: number) => void;
  } = {},
) {
  const pageSize = options.pageSize ?? 100;
  return async function* (args: SourceArgs): AsyncGenerator<Page<R>> {
    let next = (args.checkpoint as { after?: number } | null)?.after ?? 0;
    let served = 0;
    while (next < records.length) {
      if (options.failAfterPages !== undefined && served >= options.failAfterPages) {
        throw new Error(`source failed after ${served} pages`);
      }
      if (options.delayMs) await sleep(options.delayMs);
      const end = Math.min(records.length, next + pageSize);
      args.report({ apiCalls: 1, bytes: 10 * (end - next) });
      served++;
      options.onPage?.(served);
      yield { records: records.slice(next, end), checkpoint: { after: end } };
      next = end;
    }
  };
}

/**
 * The config of one test stream over `records` (key `id`, version and deleted fields, pages of
 * `pageSize` from `arraySource`): what the change-feed, sink and event tests sync.
 */
export function testStreamConfig(
  records: readonly TestRecord[],
  options: { name?: string; pageSize?: number } = {},
): SynclineConfig {
  return {
    streams: [
      defineStream<TestRecord>({
        name: options.name ?? 'items',
        key: 'id',
        version: 'version',
        deleted: 'deleted',
        source: arraySource(records, { pageSize: options.pageSize ?? 40 }),
      }),
    ],
  };
}
