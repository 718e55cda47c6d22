/**
 * What a file reader hands the file stream, in file order. Each item says where it ends (`end`, a
 * byte offset, and `line`, the lines read up to there), so a page's checkpoint can say exactly
 * where the next run resumes.
 */
export type FileItem =
  | {
      readonly kind: 'record';
      readonly record: Record<string, unknown>;
      readonly end: number;
      readonly line: number;
    }
  | {
      readonly kind: 'reject';
      readonly reason: string;
      readonly payload: unknown;
      readonly end: number;
      readonly line: number;
    }
  /**
   * The last line has no line end and does not parse: the file may still be being written. It is
   * held back (neither a record nor a dead letter); `at` and `line` are where it starts.
   */
  | { readonly kind: 'tail'; readonly at: number; readonly line: number };

/** Where and how a reader reads one file. */
export interface ReadRange {
  readonly path: string;
  /** The path as messages show it. */
  readonly shown: string;
  /** The byte to start at: 0, or just after an item an earlier run committed. */
  readonly start: number;
  /** Bytes of the file to read in all (its size when the run looked at it): what lies past is left for the next run. */
  readonly size: number;
  /** Lines before `start`. */
  readonly line: number;
  readonly encoding: 'utf8' | 'latin1';
  /**
   * The last line has no line end and does not parse: a dead letter (true: the file has stopped
   * changing, or the run is a reconciliation) or held back (false).
   */
  readonly final: boolean;
  /** Every chunk read, in order (the file's hash). */
  readonly onChunk: (chunk: Buffer) => void;
}

/** Bytes read a chunk: large enough that per-chunk costs vanish, small enough to stay flat. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * The record one JSON text holds (an NDJSON line, an element of a JSON array), or a reject saying
 * where it was (`at`: `orders.ndjson line 12`) and what was wrong: not JSON, or not an object.
 */
export function jsonItem(text: string, at: string, end: number, line: number): FileItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { kind: 'reject', reason: `${at}: not JSON (${why})`, payload: text, end, line };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return { kind: 'reject', reason: `${at}: ${what}, not an object`, payload: value, end, line };
  }
  return { kind: 'record', record: value as Record<string, unknown>, end, line };
}
