import type { Dataset } from './dataset.ts';
import type { ListLimits } from './list-handler.ts';
import { hash3 } from './prng.ts';
import { parseLimit } from './query-params.ts';
import { SimulatorRequestError } from './simulator-errors.ts';

/**
 * Answers `GET /v1/<dataset>/changes?since=<seq>&limit=<n>`, a CouchDB-style changes feed: the
 * body is `{"results":[...],"last_seq":n,"pending":n}`, one row per record whose latest change has
 * a sequence number above `since`, oldest first. A row wraps the record as a CouchDB document
 * (`_id` for `id`, plus a `_rev`), so a client must unwrap and rename to get the record as the
 * lists serve it; a hard-deleted record's row says `deleted: true` and carries only a stub.
 * `last_seq` is the last row's number, to send as the next `since` (with no rows: the newest
 * number so far, or `since` when that is larger); `pending` counts the rows after it.
 */
export function handleChanges(dataset: Dataset, url: URL, limits: ListLimits): string {
  const query = url.searchParams;
  const since = parseSince(query.get('since'), dataset.changes.last);
  const limit = parseLimit(query, ['limit'], limits.defaultPageSize, limits.maxPageSize);
  const rows = dataset.changes.after(since, limit);
  let body = '{"results":[';
  for (let n = 0; n < rows.length; n++) {
    const { seq, index } = rows[n]!;
    body += (n > 0 ? ',' : '') + row(dataset, seq, index);
  }
  const lastSeq = rows.length > 0 ? rows[rows.length - 1]!.seq : Math.max(since, dataset.changes.last);
  return `${body}],"last_seq":${lastSeq},"pending":${dataset.changes.pendingAfter(lastSeq)}}`;
}

/** `since`: digits, `now` (only what changes from here on), or absent (from the start). */
function parseSince(raw: string | null, last: number): number {
  if (raw === null || raw === '' || raw === '0') return 0;
  if (raw === 'now') return last;
  if (!/^\d+$/.test(raw)) {
    throw new SimulatorRequestError(`since=${raw} is not a sequence number (digits) or now`);
  }
  return Number(raw);
}

function row(dataset: Dataset, seq: number, index: number): string {
  const state = dataset.stateOf(index);
  const id = dataset.idOf(index);
  // CouchDB's `<n>-<digest>`; a delete is a revision of its own.
  const n = state.version + (state.status === 'hard' ? 1 : 0);
  const rev = `${n}-${hash3(index, n, 0x5f726576).toString(16).padStart(8, '0')}`;
  if (state.status === 'hard') {
    const stub = { _id: id, _rev: rev, _deleted: true };
    return JSON.stringify({ seq, id, deleted: true, doc: stub });
  }
  const { id: _id, ...rest } = dataset.record(index);
  return JSON.stringify({ seq, id, doc: { _id: id, _rev: rev, ...rest } });
}
