import { stripVTControlCharacters } from 'node:util';

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

/** A duration as "850ms", "12.3s", "4m05s", "2h10m", "3d4h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** A checkpoint shortened for a table cell. */
export function formatCheckpoint(checkpoint: unknown, max = 40): string {
  if (checkpoint === null || checkpoint === undefined) return '-';
  const text = JSON.stringify(checkpoint);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
