import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { STREAM_NAME } from '../core/stream-name.ts';
import { firstIssue, type SchemaIssue, strictObject } from '../core/strict-object.ts';
import { COLUMN_TYPES } from '../core/view-columns.ts';
import type { SynclineConfig } from './define-config.ts';

const fieldPath = z.string().min(1, 'must be a non-empty field name');

/** A duration: milliseconds, or `500ms`, `90s`, `15m`, `1h`, `7d`. */
export const durationSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'must be like 500ms, 90s, 15m, 1h or 7d'),
]);

/** Fields every stream may have, whatever its source (also used by JSON/YAML HTTP streams). */
export const streamBehaviourFields = {
  hash: strictObject({
    include: z.array(fieldPath).min(1).optional(),
    exclude: z.array(fieldPath).min(1).optional(),
  }).optional(),
  onVersionRegression: z.enum(['deadLetter', 'accept']).optional(),
  history: z.boolean().optional(),
  columns: z
    .record(fieldPath, z.enum(COLUMN_TYPES, { error: `must be one of ${COLUMN_TYPES.join(', ')}` }))
    .optional(),
  backfill: z
    .union([
      z.enum(['pause', 'auto']),
      strictObject({
        mode: z.enum(['pause', 'auto']).optional(),
        maxAge: durationSchema.optional(),
        volumeFactor: z.number().positive().optional(),
        minBaseline: z.number().int().min(0).optional(),
      }),
    ])
    .optional(),
  reconcile: strictObject({
    maxDeleteShare: z.number().min(0).max(1).optional(),
    fullRefresh: durationSchema.optional(),
  }).optional(),
};

const streamSource = z.custom((value) => typeof value === 'function', {
  error: 'must be a function returning an async iterable of pages (an async generator)',
});

/** A stream definition as `defineStream` (or `http.stream`) makes it; no other key is accepted. */
const streamSchema = strictObject({
  name: z
    .string()
    .regex(
      STREAM_NAME,
      'must be lower-case letters, digits and "_", starting with a letter (it names a table)',
    )
    .refine((name) => !name.startsWith('syncline_'), 'must not start with "syncline_" (reserved)'),
  key: z.union([fieldPath, z.array(fieldPath).min(1, 'must list at least one field')], {
    error: 'must be a field name or a non-empty list of field names',
  }),
  cursor: fieldPath.optional(),
  version: fieldPath.optional(),
  deleted: fieldPath.optional(),
  schema: z
    .custom((value) => typeof value === 'object' && value !== null && '~standard' in value, {
      error: 'must be a zod (or other Standard Schema) schema',
    })
    .optional(),
  source: streamSource,
  /** Reads records by key for `syncline refresh` (`http.stream` makes it from `fetchById`). */
  fetchByKey: streamSource.optional(),
  /** What `syncline check` shows of the source (`http.stream` sets it). */
  sourceInfo: strictObject({
    kind: z.string().min(1),
    reads: z.string().optional(),
    pagination: z.string().optional(),
    incremental: z.string().optional(),
    secrets: z.array(z.string()).optional(),
  }).optional(),
  ...streamBehaviourFields,
});

const positiveInt = z.number().int().positive();

export const configSchema = strictObject({
  store: z.string().min(1).optional(),
  streams: z.array(streamSchema).min(1, 'must define at least one stream'),
  sync: strictObject({
    maxPagesInFlight: positiveInt.optional(),
    concurrency: positiveInt.optional(),
    leaseTtlMs: z.number().int().min(1000).optional(),
    maxRunDurationMs: positiveInt.optional(),
    retry: strictObject({
      maxAttempts: positiveInt.optional(),
      budget: z.number().int().min(0).optional(),
      baseDelayMs: positiveInt.optional(),
      maxDelayMs: positiveInt.optional(),
      minDelayMs: z.number().int().min(0).optional(),
    }).optional(),
  }).optional(),
  changes: strictObject({
    retention: durationSchema.optional(),
  }).optional(),
});

/**
 * Validates a loaded config. Errors name the file, the stream (by name when it has one) and the
 * field: `syncline.config.ts: stream "orders" (streams[1]): key: must be a field name ...`.
 */
export function validateConfig(value: unknown, file: string): SynclineConfig {
  const result = configSchema.safeParse(value);
  if (!result.success) {
    throw new ConfigError(describeConfigIssue(file, value, firstIssue(result.error.issues)));
  }
  const seen = new Set<string>();
  for (const stream of (value as SynclineConfig).streams) {
    if (seen.has(stream.name)) throw new ConfigError(`${file}: stream "${stream.name}" is defined twice`);
    seen.add(stream.name);
  }
  return value as SynclineConfig;
}

/** `file: stream "x" (streams[1]): field.path: message` for one issue of a config value. */
export function describeConfigIssue(file: string, value: unknown, issue: SchemaIssue): string {
  return `${file}: ${where(value, issue.path)}${issue.message}`;
}

function where(value: unknown, path: readonly PropertyKey[]): string {
  if (path[0] === 'streams' && typeof path[1] === 'number') {
    const stream = (value as { streams: { name?: unknown }[] }).streams[path[1]];
    const name = typeof stream?.name === 'string' ? `stream "${stream.name}" ` : 'stream ';
    const rest = path.slice(2).join('.');
    return `${name}(streams[${path[1]}])${rest ? `: ${rest}` : ''}: `;
  }
  return path.length > 0 ? `${path.join('.')}: ` : '';
}
