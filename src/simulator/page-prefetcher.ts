import type { Dataset } from './dataset.ts';
import { handleList, type ListAnswer, type ListLimits } from './list-handler.ts';
import { parseTime } from './query-params.ts';
import { etagOf } from './response-writer.ts';

/** Prefetched pages kept at once (a few clients walking at the same time). */
const MAX_PAGES = 8;

interface Prefetched {
  revision: number;
  answer: ListAnswer;
  etag: string;
}

/**
 * Builds the next page of a cursor, link or keyset walk while the client is still reading the
 * current one, so generating a page overlaps the client's parsing instead of adding to it. A
 * prefetched page is served only if the dataset has not changed since (same revision), so it is
 * byte-for-byte what the request would have produced.
 */
export class PagePrefetcher {
  private readonly limits: ListLimits;
  private readonly pages = new Map<string, Prefetched>();
  private closed = false;

  constructor(limits: ListLimits) {
    this.limits = limits;
  }

  /** Answers a list request, from a prefetched page when one is fresh; returns its ETag if known. */
  list(dataset: Dataset, url: URL): { answer: ListAnswer; etag?: string } {
    const key = pageKey(dataset, url);
    const hit = key === null ? undefined : this.pages.get(key);
    if (key !== null) this.pages.delete(key);
    const fresh = hit !== undefined && hit.revision === dataset.revision;
    const answer = fresh ? hit.answer : handleList(dataset, url, this.limits);
    const next = answer.next;
    if (next !== undefined) setImmediate(() => this.prefetch(dataset, next));
    return fresh ? { answer, etag: hit.etag } : { answer };
  }

  close(): void {
    this.closed = true;
    this.pages.clear();
  }

  private prefetch(dataset: Dataset, url: URL): void {
    const key = pageKey(dataset, url);
    if (this.closed || key === null || this.pages.has(key)) return;
    try {
      const answer = handleList(dataset, url, this.limits);
      this.pages.set(key, { revision: dataset.revision, answer, etag: etagOf(answer.body) });
      if (this.pages.size > MAX_PAGES) this.pages.delete(this.pages.keys().next().value!);
    } catch {
      // The real request will meet (and report) the same error.
    }
  }
}

/** What identifies a cursor, link or keyset page whatever the parameter order; null otherwise. */
function pageKey(dataset: Dataset, url: URL): string | null {
  const q = url.searchParams;
  const style = q.get('style') ?? 'cursor';
  const common = `${dataset.name}|${style}|${q.get('limit') ?? q.get('per_page') ?? ''}|${q.get('symbol')}|${q.get('interval')}`;
  try {
    if (style === 'cursor' || style === 'link') {
      return `${common}|${q.get('cursor') ?? ''}|${parseTime(q, 'updated_since', Number.NaN)}`;
    }
    if (style === 'keyset')
      return `${common}|${parseTime(q, 'updated_since', Number.NaN)}|${q.get('after_id')}`;
  } catch {
    // Invalid parameters: not cacheable; handleList reports them.
  }
  return null;
}
