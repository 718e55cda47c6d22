import type { Checkpoint, Json } from '../../core/types.ts';
import type { Watermark } from '../../core/watermark.ts';
import type { HttpCheckpoint } from './http-checkpoint.ts';

/**
 * An HTTP stream's checkpoint in a few words, for `syncline status`: where an unfinished pass
 * continues (`page 42`, `offset 300`, `token …Q3NzA`, `window 2024-01-01T00:00:00.000Z to ...`,
 * `next …/v1/people?page=3`) and the watermark (`watermark 2026-03-01T12:00:00Z / cus_123`); a
 * completed full pass is `pass complete`. Null for a checkpoint another kind of source wrote.
 */
export function describeHttpCheckpoint(checkpoint: Checkpoint): string | null {
  if (!isObject(checkpoint) || checkpoint['v'] !== 1 || !('position' in checkpoint)) return null;
  const http = checkpoint as unknown as HttpCheckpoint;
  const parts: string[] = [];
  if (http.position !== null && http.position !== undefined) parts.push(describePosition(http.position));
  if (http.watermark) parts.push(`watermark ${describeWatermark(http.watermark)}`);
  if (parts.length === 0) parts.push('pass complete');
  if (http.deletes?.watermark) parts.push(`deletes to ${http.deletes.watermark.cursor}`);
  return parts.join(', ');
}

function describeWatermark(watermark: Watermark): string {
  return watermark.id === null ? watermark.cursor : `${watermark.cursor} / ${watermark.id}`;
}

/** A paginator's position (see paginators/): page numbers, tokens, next URLs, keyset and windows. */
function describePosition(position: Json): string {
  if (typeof position === 'number') return `page ${position}`;
  if (typeof position === 'string') {
    if (/^https?:\/\//i.test(position) && URL.canParse(position)) {
      const url = new URL(position);
      return `next ${tail(`${url.pathname}${url.search}`, 40)}`;
    }
    return `token ${tail(position, 8)}`;
  }
  if (isObject(position)) {
    const offset = typeof position['offset'] === 'number' && position['offset'] > 0 ? position['offset'] : 0;
    const plus = offset > 0 ? ` +${offset}` : '';
    if (typeof position['from'] === 'string' && typeof position['to'] === 'string') {
      return `window ${position['from']} to ${position['to']}${plus}`;
    }
    if ('cursor' in position) {
      const cursor = typeof position['cursor'] === 'string' ? position['cursor'] : null;
      const id = typeof position['id'] === 'string' ? position['id'] : null;
      if (cursor === null) return `from the beginning${plus}`;
      return `at ${id === null ? cursor : `${cursor} / ${id}`}${plus}`;
    }
    if ('offset' in position) return `offset ${offset}`;
  }
  return `position ${tail(JSON.stringify(position), 24)}`;
}

/** The end of `text`, at most `max` characters, `…` marking what was cut. */
function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max + 1)}`;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
