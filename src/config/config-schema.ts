import { Cron } from 'croner';
import { z } from 'zod';
import { parseDuration } from '../core/cursor-time.ts';
import type { Destination } from '../core/destination.ts';
import type { RecordMapSpec } from '../core/destination-spec.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import type { ScheduleSettings } from '../core/schedule.ts';
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

/** A duration that must not be zero (an interval of 0 would run a stream without pause). */
const positiveDurationSchema = durationSchema.refine((value) => {
  try {
    return parseDuration(value) > 0;
  } catch {
    return true; // durationSchema has said what is wrong
  }
}, 'must be more than 0');

/**
 * Cron patterns accepted: 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds
 * first), as croner reads them; a 7th (year) field is refused, as other cron tools would.
 */
export const CRON_MODE = '5-or-6-parts';

/** croner's own check of a pattern, at load: a bad one would otherwise fail when the service starts. */
const cronPattern = z.string().superRefine((pattern, ctx) => {
  try {
    new Cron(pattern, { paused: true, mode: CRON_MODE });
  } catch (error) {
    const why = describeError(error).replace(/^CronPattern:\s*/, '');
    ctx.addIssue({
      code: 'custom',
      message:
        `invalid cron pattern ${JSON.stringify(pattern)}: ${why} ` +
        '(5 fields: minute hour day month weekday, or 6 with seconds first)',
    });
  }
});

/** An IANA time zone the runtime knows (`Europe/Paris`, `UTC`). */
const timezone = z.string().refine((zone) => {
  try {
    Intl.DateTimeFormat(undefined, { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'unknown time zone: use an IANA name such as "Europe/Paris", "America/New_York" or "UTC"');

const everySchedule = strictObject({
  every: positiveDurationSchema,
  jitter: durationSchema.optional(),
});

const cronSchedule = strictObject({
  cron: cronPattern,
  timezone: timezone.optional(),
  jitter: durationSchema.optional(),
});

/**
 * `{ every: <duration>, jitter? }` or `{ cron: '<pattern>', timezone?, jitter? }` (ScheduleSettings).
 * The shape is picked by its key, so an error names the field at fault (a union of the two would
 * only say "invalid input").
 */
export const scheduleSchema = z
  .custom<ScheduleSettings>(() => true)
  .superRefine((value, ctx) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: "must be { every: '<duration>' } or { cron: '<pattern>' }" });
      return;
    }
    const keys = Object.keys(value);
    if (keys.includes('every') && keys.includes('cron')) {
      ctx.addIssue({ code: 'custom', message: 'give either every or cron, not both' });
      return;
    }
    if (
      !keys.includes('every') &&
      !keys.includes('cron') &&
      keys.every((k) => k === 'jitter' || k === 'timezone')
    ) {
      ctx.addIssue({ code: 'custom', message: "needs every (e.g. '15m') or cron (e.g. '0 2 * * *')" });
      return;
    }
    const result = (keys.includes('cron') ? cronSchedule : everySchedule).safeParse(value);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue(issue as never);
  });

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
    schedule: scheduleSchema.optional(),
  }).optional(),
  schedule: scheduleSchema.optional(),
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
  /** A push source's receiving side (`webhook.stream` sets it). */
  receive: z.custom((value) => typeof value === 'function', { error: 'must be a function' }).optional(),
  /** A replication slot's status and drop (`cdc.stream` sets it). */
  capture: z
    .custom(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { status?: unknown }).status === 'function' &&
        typeof (value as { drop?: unknown }).drop === 'function',
      { error: 'must be an object with status() and drop()' },
    )
    .optional(),
  /** When a reconciliation is owed after a sync (`file.stream` sets it). */
  reconcileOwed: z.custom((value) => typeof value === 'function', { error: 'must be a function' }).optional(),
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

/** What every sink kind accepts: its name, which changes it gets, its batches, its retries. */
const sinkCommonFields = {
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_-]*$/, 'must be lower-case letters, digits, "_" and "-", starting with a letter'),
  streams: z.array(z.string().min(1)).min(1, 'must list at least one stream').optional(),
  kinds: z
    .array(z.enum(['insert', 'update', 'delete', 'run'], { error: 'must be insert, update, delete or run' }))
    .min(1, 'must list at least one kind')
    .optional(),
  data: z.boolean().optional(),
  batchSize: z.number().int().min(1).max(1000, 'must be at most 1000').optional(),
  retry: strictObject({
    base: positiveDurationSchema.optional(),
    max: positiveDurationSchema.optional(),
  }).optional(),
  pauseAfter: positiveDurationSchema.optional(),
};

/**
 * A webhook sink (`type: 'webhook'`): POSTs the change log's events, signed (Standard Webhooks).
 * `sinks` is a union discriminated on `type`: each kind of sink is a member.
 */
const webhookSinkSchema = strictObject({
  ...sinkCommonFields,
  type: z.literal('webhook'),
  url: z.union([z.url(), z.array(z.url()).min(1, 'must list at least one URL')], {
    error: 'must be a URL or a non-empty list of URLs',
  }),
  secretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable (the secret itself stays there)'),
  timeout: positiveDurationSchema.optional(),
  rateLimit: z.number().positive().optional(),
  allowPrivateTargets: z.boolean().optional(),
});

/** A Redis Streams sink (`type: 'redis'`): XADDs each event to a Redis stream per Syncline stream. */
const redisSinkSchema = strictObject({
  ...sinkCommonFields,
  type: z.literal('redis'),
  // The message never repeats the value: a redis:// URL may hold a password.
  url: z
    .string({ error: 'must be a redis:// or rediss:// URL' })
    .refine(isRedisUrl, 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0'),
  stream: z.string().min(1, 'must not be empty').optional(),
  maxLen: z.number().int().positive().optional(),
});

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envNameSchema = z
  .string()
  .regex(ENV_NAME, 'must name an environment variable (the secret itself stays there)');

/**
 * A NATS JetStream sink (`type: 'nats'`): publishes each event to a subject made from its stream
 * and kind, with `Nats-Msg-Id` = the event's id.
 */
const natsSinkSchema = strictObject({
  ...sinkCommonFields,
  type: z.literal('nats'),
  // The message never repeats the value: a nats:// URL may hold a password or a token.
  url: z
    .string({ error: 'must be a nats:// or tls:// URL' })
    .refine(isNatsUrl, 'must be a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222')
    .optional(),
  subject: z.string().superRefine(checkSubjectTemplate).optional(),
  tokenEnv: envNameSchema.optional(),
  userEnv: envNameSchema.optional(),
  passwordEnv: envNameSchema.optional(),
  timeout: positiveDurationSchema.optional(),
  createStream: strictObject({
    name: z
      .string()
      .regex(/^[^\s.*>/\\]+$/, 'must be a JetStream stream name: no spaces, ".", "*", ">", "/" or "\\"'),
    subjects: z
      .array(z.string().regex(/^[^\s.]+(\.[^\s.]+)*$/, 'must be NATS subjects like syncline.>'))
      .min(1, 'must list at least one subject')
      .optional(),
    maxAge: positiveDurationSchema.optional(),
    duplicateWindow: positiveDurationSchema.optional(),
  }).optional(),
})
  .refine((s) => s.tokenEnv === undefined || (s.userEnv === undefined && s.passwordEnv === undefined), {
    message: 'give tokenEnv, or userEnv and passwordEnv, not both',
    path: ['tokenEnv'],
  })
  .refine((s) => (s.userEnv === undefined) === (s.passwordEnv === undefined), {
    message: 'userEnv and passwordEnv go together: give both or neither',
    path: ['userEnv'],
  });

function isNatsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'nats:' || url.protocol === 'tls:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A subject template: NATS tokens, placeholders `{stream}` and `{kind}` only, no wildcards. */
function checkSubjectTemplate(value: string, ctx: z.RefinementCtx): void {
  const unknown = [...value.matchAll(/\{([^}]*)\}/g)].find((m) => m[1] !== 'stream' && m[1] !== 'kind');
  if (unknown) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown placeholder {${unknown[1]}}; a subject may use {stream} and {kind}`,
    });
    return;
  }
  const filled = value.replaceAll('{stream}', 's').replaceAll('{kind}', 'k');
  if (!/^[^\s.*>{}]+(\.[^\s.*>{}]+)*$/.test(filled)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a NATS subject: tokens separated by ".", no spaces, wildcards (*, >) or empty tokens',
    });
  }
}

/**
 * A server-sent events sink (`type: 'sse'`): `syncline run` serves the change log at
 * `GET /v1/events`. No runner and no offset: each client holds its own position (`Last-Event-ID`),
 * so it has only the filters and the per-client bounds. At most one per config.
 */
const sseSinkSchema = strictObject({
  name: sinkCommonFields.name,
  streams: sinkCommonFields.streams,
  kinds: sinkCommonFields.kinds,
  data: sinkCommonFields.data,
  type: z.literal('sse'),
  heartbeat: positiveDurationSchema.optional(),
  maxBuffered: z.number().int().min(1).max(100_000, 'must be at most 100000').optional(),
  maxClients: z.number().int().min(1).max(10_000, 'must be at most 10000').optional(),
});

export const sinkSchema = z.discriminatedUnion(
  'type',
  [webhookSinkSchema, redisSinkSchema, natsSinkSchema, sseSinkSchema],
  {
    error: 'type must be one of: webhook, redis, nats, sse',
  },
);

const pathSchema = z.string().min(1, 'must be a non-empty path');

/** Where a destination field's value comes from (see core/destination-spec.ts). */
const fieldSourceSchema = z.union(
  [
    z.string().min(1),
    strictObject({ path: z.string().min(1) }),
    strictObject({ const: z.json() }),
    strictObject({ template: z.string() }),
  ],
  { error: 'must be a record path, { path }, { const } or { template }' },
);

/** A destination's mapping: fields from the record, or (TypeScript) a function. */
const recordMapSchema = z.union([
  z.record(z.string(), fieldSourceSchema),
  z.custom<Extract<RecordMapSpec, (...args: never[]) => unknown>>(
    (v) => typeof v === 'function',
    'must be an object of fields, or a function',
  ),
]);

/** What every kind of destination has. */
const destinationCommonFields = {
  name: sinkCommonFields.name,
  streams: z.array(z.string().min(1)).min(1, 'must list at least one stream'),
  mode: z.enum(['upsert', 'update-only', 'create-only', 'mirror']).optional(),
  batchSize: sinkCommonFields.batchSize,
  retry: sinkCommonFields.retry,
  pauseAfter: sinkCommonFields.pauseAfter,
};

/**
 * An HTTP destination (`destinations:`, `type: http`): writes the records of its streams into an
 * HTTP API through `map`, keeping each object's id in the external-ID map.
 */
const httpDestinationSchema = strictObject({
  ...destinationCommonFields,
  type: z.literal('http'),
  baseUrl: z.url({ error: 'must be a URL' }),
  headers: z.record(z.string(), z.string()).optional(),
  tokenEnv: envNameSchema.optional(),
  map: recordMapSchema,
  create: strictObject({
    method: z.enum(['POST', 'PUT']).optional(),
    path: pathSchema,
    idPath: pathSchema.optional(),
  }).optional(),
  update: strictObject({ method: z.enum(['PATCH', 'PUT', 'POST']).optional(), path: pathSchema }).optional(),
  find: strictObject({
    path: pathSchema,
    query: z.record(z.string(), z.string()).optional(),
    idPath: pathSchema,
  }).optional(),
  delete: strictObject({ path: pathSchema }).optional(),
  batch: strictObject({
    path: pathSchema,
    maxSize: z.number().int().min(1).max(1000, 'must be at most 1000').optional(),
    itemsField: z.string().min(1).optional(),
    resultsPath: pathSchema.optional(),
    idPath: pathSchema.optional(),
    errorPath: pathSchema.optional(),
  }).optional(),
  idempotencyHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .optional(),
  concurrency: z.number().int().min(1).max(64, 'must be at most 64').optional(),
  rateLimit: z.number().positive().optional(),
  timeout: positiveDurationSchema.optional(),
  allowPrivateTargets: z.boolean().optional(),
})
  .refine((d) => d.mode !== 'mirror' || d.delete !== undefined, {
    message: 'mode mirror deletes objects: add delete: { path }',
    path: ['delete'],
  })
  .refine((d) => d.create !== undefined || d.batch !== undefined, {
    message: 'add create: { path } to make objects (or batch: { path } for a bulk upsert endpoint)',
    path: ['create'],
  })
  .refine((d) => d.batch !== undefined || d.mode === 'create-only' || d.update !== undefined, {
    message:
      'add update: { path } (with {externalId}) to change the objects it made, or set mode: create-only',
    path: ['update'],
  })
  .refine(
    (d) => d.batch === undefined || d.mode === undefined || d.mode === 'upsert' || d.mode === 'mirror',
    {
      message: 'a bulk upsert endpoint creates and updates alike: use mode upsert or mirror with it',
      path: ['mode'],
    },
  );

/**
 * A custom destination (`type: custom`, TypeScript configs): `destination` is an object with
 * `write(batch, ctx)` (any SDK behind it); Syncline keeps the map, the position and the retries.
 */
const customDestinationSchema = strictObject({
  ...destinationCommonFields,
  type: z.literal('custom'),
  destination: z.custom<Destination>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Destination).write === 'function',
    'must be an object with a write(batch, ctx) method (a TypeScript config)',
  ),
  map: recordMapSchema.optional(),
});

const destinationSchema = z.discriminatedUnion('type', [httpDestinationSchema, customDestinationSchema], {
  error: 'must be http or custom (custom: a TypeScript config)',
});

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
  service: strictObject({
    schedule: scheduleSchema.optional(),
    listen: z
      .string()
      .regex(
        /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):\d{1,5}$/,
        'must be host:port, e.g. 127.0.0.1:7373 or 0.0.0.0:8080',
      )
      .optional(),
    shutdownTimeout: durationSchema.optional(),
    workerTimeout: positiveDurationSchema.optional(),
    backoff: strictObject({
      base: positiveDurationSchema.optional(),
      max: positiveDurationSchema.optional(),
    }).optional(),
  }).optional(),
  sinks: z.array(sinkSchema).optional(),
  destinations: z.array(destinationSchema).optional(),
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
  const sinks = new Set<string>();
  let sse: string | null = null;
  for (const sink of (value as SynclineConfig).sinks ?? []) {
    if (sinks.has(sink.name)) throw new ConfigError(`${file}: sink "${sink.name}" is defined twice`);
    sinks.add(sink.name);
    if (sink.type === 'sse') {
      if (sse !== null) {
        throw new ConfigError(
          `${file}: sink "${sink.name}": only one sse sink is allowed and "${sse}" is one already (GET /v1/events serves it); remove one`,
        );
      }
      sse = sink.name;
    }
    const unknown = sink.streams?.find((name) => !seen.has(name));
    if (unknown !== undefined) {
      throw new ConfigError(
        `${file}: sink "${sink.name}": streams: unknown stream "${unknown}"; the config's streams are ${[...seen].join(', ')}`,
      );
    }
  }
  const destinations = new Set<string>();
  for (const destination of (value as SynclineConfig).destinations ?? []) {
    if (destinations.has(destination.name)) {
      throw new ConfigError(`${file}: destination "${destination.name}" is defined twice`);
    }
    destinations.add(destination.name);
    if (sinks.has(destination.name)) {
      throw new ConfigError(
        `${file}: destination "${destination.name}": a sink has that name too; give it another (status, resume and metrics name them alike)`,
      );
    }
    const unknown = destination.streams.find((name) => !seen.has(name));
    if (unknown !== undefined) {
      throw new ConfigError(
        `${file}: destination "${destination.name}": streams: unknown stream "${unknown}"; the config's streams are ${[...seen].join(', ')}`,
      );
    }
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
  if (path[0] === 'destinations' && typeof path[1] === 'number') {
    const destination = (value as { destinations: { name?: unknown }[] }).destinations[path[1]];
    const name =
      typeof destination?.name === 'string' ? `destination "${destination.name}" ` : 'destination ';
    const rest = path.slice(2).join('.');
    return `${name}(destinations[${path[1]}])${rest ? `: ${rest}` : ''}: `;
  }
  if (path[0] === 'sinks' && typeof path[1] === 'number') {
    const sink = (value as { sinks: { name?: unknown }[] }).sinks[path[1]];
    const name = typeof sink?.name === 'string' ? `sink "${sink.name}" ` : 'sink ';
    const rest = path.slice(2).join('.');
    return `${name}(sinks[${path[1]}])${rest ? `: ${rest}` : ''}: `;
  }
  return path.length > 0 ? `${path.join('.')}: ` : '';
}
