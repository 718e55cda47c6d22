import { FatalError } from '../../core/errors.ts';
import type { Checkpoint, Json } from '../../core/types.ts';
import type { Watermark } from '../../core/watermark.ts';
import { scrubSecrets } from './auth/scrub-secrets.ts';
import type { HttpAuth } from './http-types.ts';

/** Conditional-request validators of a pass that fitted in one request. */
export interface Validators {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
}

/** An HTTP stream's checkpoint. */
export interface HttpCheckpoint {
  readonly v: 1;
  /**
   * Where the unfinished pass continues; null when the last pass completed. A feed (`keepsPosition`)
   * keeps its last token here after a completed pass too: the next pass starts there.
   */
  readonly position: Json | null;
  /** The newest `(cursor, tie-breaker)` handed over, capped at now minus the safety lag. */
  readonly watermark: Watermark | null;
  readonly validators: Validators | null;
  /** Where the deleted-records feed continues (streams with `deletes.feed`). */
  readonly deletes?: FeedState;
}

/** The deleted-records feed's place: an unfinished walk's position, and the last entry read. */
export interface FeedState {
  readonly position: Json | null;
  readonly watermark: Watermark | null;
}

export const EMPTY_CHECKPOINT: HttpCheckpoint = { v: 1, position: null, watermark: null, validators: null };

/** Reads a stored checkpoint; `null` is a first run. Anything else is refused with what to do. */
export function readHttpCheckpoint(checkpoint: Checkpoint, stream: string): HttpCheckpoint {
  if (checkpoint === null) return EMPTY_CHECKPOINT;
  if (
    typeof checkpoint === 'object' &&
    !Array.isArray(checkpoint) &&
    checkpoint['v'] === 1 &&
    'position' in checkpoint
  ) {
    return checkpoint as unknown as HttpCheckpoint;
  }
  throw new FatalError(
    `stream "${stream}": its stored checkpoint ${JSON.stringify(checkpoint).slice(0, 80)} was not written by an ` +
      `HTTP stream; run \`syncline reset ${stream}\` to start it afresh`,
    { stream },
  );
}

/** The checkpoint as the JSON the store keeps (no undefined members). */
export function toJson(checkpoint: HttpCheckpoint): Json {
  return JSON.parse(JSON.stringify(checkpoint)) as Json;
}

/**
 * A checkpoint part with every secret in use replaced by `***`: an API that copies an `api_key`
 * query parameter into its `Link` URLs would otherwise put the key into the store. Auth sets the
 * parameter again on every request, so the stored URL still works.
 */
export function withoutSecrets<T>(value: T, auth: HttpAuth): T {
  if (value === null) return value;
  const text = JSON.stringify(value);
  const scrubbed = scrubSecrets(text, auth.secrets());
  return scrubbed === text ? value : (JSON.parse(scrubbed) as T);
}
