import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full collection, in percent,
 * in a process that syncs. A sync keeps every record in flight alive across a few young-generation
 * collections, so V8 promotes it and, left to its own heuristics (up to 4x the live heap), collects
 * it late: a 1M-record sync peaked at ~250 MB. Capped at 50%, the peak is ~200 MB at the same
 * speed (bench/RESULTS.md).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * Node options a sync process should start with: a young generation of 2 x 8 MB instead of V8's
 * 2 x 16 MB (which a sync fills, as most of what it allocates is garbage at once): 15-20 MB less
 * resident memory at the same speed (1M records, measured). V8 reads it only at start-up, so the
 * CLI's launcher (`bin/syncline.mjs`'s `#!` line and the npm scripts) passes it; a program that
 * embeds `sync()` passes it to `node` itself.
 */
export const SYNC_NODE_OPTIONS = ['--max-semi-space-size=8'] as const;

/**
 * Caps V8's heap growth for this process (`--heap-growing-percent`). The CLI calls it at start,
 * for the process is its own; a program that embeds `sync()` decides for its process, e.g.
 * `node --heap-growing-percent=50 app.js`. V8 reads the flag at every full collection, so setting
 * it after start-up takes effect.
 */
export function tuneHeapForSync(percent = HEAP_GROWING_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
