import { stripVTControlCharacters } from 'node:util';
import type { Checkpoint } from '../core/types.ts';
import { describeHttpCheckpoint } from '../sources/http/describe-http-checkpoint.ts';

/**
 * Renders rows as an aligned plain-text table with a header line. Cells may be coloured
 * (`TerminalStyle`): widths count the characters shown, not the colour codes.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const shown = (cell: string) => stripVTControlCharacters(cell).length;
  const widths = headers.map((h, i) => Math.max(shown(h), ...rows.map((r) => shown(r[i] ?? ''))));
  const render = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, widths[i]! - shown(c)))))
      .join('  ')
      .trimEnd();
  return [render(headers), ...rows.map(render)].join('\n');
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * A duration in its largest sensible unit, with the next unit while the first is under 10:
 * "850 ms", "1.3 s", "45 s", "4 min 5 s", "12 min", "2 h 10 min", "15 h", "3 d 4 h", "12 d".
 * Used for lags, run durations and waits alike.
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.floor(ms))} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return twoUnits(m, 'min', s % 60, 's');
  const h = Math.floor(m / 60);
  if (h < 24) return twoUnits(h, 'h', m % 60, 'min');
  return twoUnits(Math.floor(h / 24), 'd', h % 24, 'h');
}

function twoUnits(big: number, bigUnit: string, small: number, smallUnit: string): string {
  return big < 10 && small > 0 ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`;
}

/**
 * A checkpoint for a table cell: an HTTP stream's in words (`watermark 2026-03-01T12:00:00Z /
 * cus_123`, `page 42`), any other as JSON cut to `max` characters.
 */
export function formatCheckpoint(checkpoint: Checkpoint | undefined, max = 40): string {
  if (checkpoint === null || checkpoint === undefined) return '-';
  const described = describeHttpCheckpoint(checkpoint);
  if (described !== null) return described;
  const keys = typeof checkpoint === 'object' && !Array.isArray(checkpoint) ? Object.keys(checkpoint) : [];
  // A webhook stream: the last applied inbox event; a WebSocket stream: its last REST gap-fill.
  if (keys.length === 1 && keys[0] === 'inbox') return `inbox #${(checkpoint as { inbox: unknown }).inbox}`;
  if (keys.length === 1 && keys[0] === 'poll') {
    const poll = (checkpoint as { poll: Checkpoint }).poll;
    return `REST ${poll === null ? 'not read yet' : formatCheckpoint(poll, max - 5)}`;
  }
  const text = JSON.stringify(checkpoint);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
