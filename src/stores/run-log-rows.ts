import type { ChangeRow, LogRow, RunRecord } from '../core/types.ts';

/**
 * The rows of one read of the change log, in seq order, as `readEvents` returns them: the record
 * changes as read (with their data), and a `RunLogRow` for each run row with its run's record.
 * Shared by both stores, whose raw rows differ only in how they got here.
 */
export function mergeRunRows(
  raw: readonly {
    readonly seq: number | string;
    readonly kind: string;
    readonly stream: string;
    readonly run_id: string;
    readonly at: string | Date;
  }[],
  changes: readonly ChangeRow[],
  runs: ReadonlyMap<string, RunRecord>,
): LogRow[] {
  const out: LogRow[] = [];
  let next = 0;
  for (const row of raw) {
    if (row.kind !== 'run') {
      const change = changes[next++];
      if (change) out.push(change);
      continue;
    }
    out.push({
      seq: Number(row.seq),
      stream: row.stream,
      kind: 'run',
      runId: row.run_id,
      at: row.at instanceof Date ? row.at.toISOString() : row.at,
      run: runs.get(row.run_id) ?? null,
    });
  }
  return out;
}
