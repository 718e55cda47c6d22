import { z } from 'zod';
import { COUNTER_NAMES } from '../core/types.ts';

/**
 * The shapes of the HTTP API in zod: request schemas validate what comes in, response schemas
 * describe what goes out, and both are what `/v1/openapi.json` is generated from, so the document
 * cannot drift from what the routes check.
 */

const LIMIT_MESSAGE = 'must be a whole number from 1 to 500';

/** `?limit=`: how many, 1 to 500. */
function limit(byDefault: number) {
  return z.coerce
    .number({ error: LIMIT_MESSAGE })
    .int(LIMIT_MESSAGE)
    .min(1, LIMIT_MESSAGE)
    .max(500, LIMIT_MESSAGE)
    .default(byDefault)
    .describe('how many, newest first (1 to 500)');
}

const ID_MESSAGE = 'must be a dead letter id (a positive integer)';

const streamName = z.string({ error: 'must be a stream name' }).min(1, 'must be a stream name');

export const StreamParams = z.object({ name: streamName.describe('the stream') });

export const RunsQuery = z.strictObject({ limit: limit(20) });

/** `GET /v1/actions`: the operator's actions, of one stream or all. */
export const ActionsQuery = z.strictObject({
  stream: streamName.optional().describe('only the actions on this stream'),
  limit: limit(50),
});

export const ActionSchema = z.object({
  id: z.number().int().describe('increasing in the order actions were recorded'),
  at: z.string().describe('when it was done (ISO-8601 UTC)'),
  stream: z.string().nullable().describe('the stream acted on; null for a sink or destination'),
  target: z.string().nullable().describe('the sink or destination acted on'),
  action: z.enum(['sync', 'reconcile', 'approve', 'reset', 'replay', 'ignore', 'resume_sink', 'replay_sink']),
  origin: z.enum(['api', 'dashboard', 'cli']).describe('the door it came through'),
  detail: z.string().describe('what the action answered, one line'),
});

/** `GET /v1/events`: narrows the sse sink's filters; `since` resumes (the `Last-Event-ID` header wins). */
export const EventsQuery = z.strictObject({
  streams: z
    .string()
    .optional()
    .describe("only these streams, comma-separated (each among the sse sink's streams)"),
  kinds: z
    .string()
    .optional()
    .describe("only these kinds (insert, update, delete, run), comma-separated (among the sink's kinds)"),
  since: z
    .string()
    .regex(/^\d+$/, 'must be a seq (a whole number)')
    .optional()
    .describe(
      'start after this seq (the `Last-Event-ID` header wins); without either, only changes committed from now',
    ),
});

export const FailedQuery = z.strictObject({
  stream: streamName.optional().describe('only this stream'),
  limit: limit(50),
  all: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true' || v === '1')
    .describe('include resolved, replayed and ignored letters, not only open ones'),
});

export const ReplayBody = z.strictObject({
  stream: streamName.optional().describe('only this stream (default: every stream with open letters)'),
  ids: z
    .array(z.number({ error: ID_MESSAGE }).int(ID_MESSAGE).positive(ID_MESSAGE), {
      error: 'must be a list of dead letter ids (positive integers)',
    })
    .min(1, 'must list at least one dead letter id')
    .max(500, 'must list at most 500 dead letter ids')
    .optional()
    .describe('only these letters (ids from GET /v1/failed)'),
});

export const IgnoreBody = z
  .strictObject({
    stream: streamName.optional().describe('every open letter of this stream'),
    ids: z
      .array(z.number({ error: ID_MESSAGE }).int(ID_MESSAGE).positive(ID_MESSAGE), {
        error: 'must be a list of dead letter ids (positive integers)',
      })
      .min(1, 'must list at least one dead letter id')
      .max(500, 'must list at most 500 dead letter ids')
      .optional()
      .describe('only these letters (ids from GET /v1/failed)'),
  })
  .refine((body) => body.stream !== undefined || body.ids !== undefined, {
    message: 'needs a stream or ids: which dead letters should be ignored?',
  });

export const IgnoreResponse = z.object({
  ignored: z.number().int().describe('open letters set aside (now ignored)'),
  message: z.string(),
});

/** Any JSON value (a checkpoint, a run's evidence, a record's payload). */
const json = z.unknown().describe('any JSON value');

const RunModeSchema = z.enum(['sync', 'reconcile', 'backfill', 'refresh', 'replay']);
const RunStatusSchema = z.enum(['running', 'ok', 'failed', 'interrupted', 'partial', 'paused_backfill']);
const isoTime = z.string().describe('ISO-8601 UTC time');

const RunCountersSchema = z.object(
  Object.fromEntries(COUNTER_NAMES.map((name) => [name, z.number().int()])) as Record<
    (typeof COUNTER_NAMES)[number],
    z.ZodNumber
  >,
);

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string().describe('bad_request, unauthorized, not_found, payload_too_large, timeout, internal'),
    message: z.string().describe('one line: what is wrong and what to do'),
  }),
});

export const HealthResponse = z.object({ ok: z.literal(true) });

export const ReadyResponse = z.object({
  ready: z.boolean(),
  checks: z.record(z.string(), z.string()).describe('each check: `ok`, or what is wrong'),
});

export const StreamViewSchema = z.object({
  stream: z.string(),
  state: z.enum(['idle', 'queued', 'running', 'backing_off', 'paused']),
  schedule: z.string().nullable(),
  reconcileSchedule: z.string().nullable(),
  nextRunAt: isoTime.nullable(),
  nextRunMode: RunModeSchema.nullable(),
  lastRun: z
    .object({
      id: z.string(),
      mode: RunModeSchema,
      status: RunStatusSchema,
      startedAt: isoTime,
      endedAt: isoTime.nullable(),
      counters: RunCountersSchema,
      error: z.string().nullable(),
    })
    .nullable(),
  lagSeconds: z.number().nullable().describe('now minus the newest cursor value, when it reads as a time'),
  freshnessSeconds: z.number().nullable().describe('now minus the end of the last successful run'),
  records: z.number().int(),
  failedRecords: z.number().int(),
  consecutiveFailures: z.number().int(),
  backoffUntil: isoTime.nullable(),
  checkpoint: json,
  webhook: z
    .object({
      backlog: z.number().int().describe('events received, not applied yet'),
      drift: z
        .object({ runId: z.string(), endedAt: isoTime.nullable(), changes: z.number().int() })
        .nullable()
        .describe('the last ok reconciliation: the changes it found that webhooks had not delivered'),
    })
    .optional()
    .describe('webhook streams only'),
  cdc: z
    .object({
      slot: z.string().describe('the replication slot the stream reads (shared by the streams of one slot)'),
      lagBytes: z
        .number()
        .int()
        .nullable()
        .describe('bytes of WAL the slot keeps on the source; null when unread'),
      reading: z.boolean().describe('a process is reading the slot now'),
      warning: z.string().nullable().describe("one line when the lag is past the stream's cdc.maxSlotLag"),
      error: z.string().nullable().describe('why the slot could not be read, when it could not'),
    })
    .optional()
    .describe('cdc streams only'),
});

export const RunRecordSchema = z.object({
  runId: z.string(),
  stream: z.string(),
  mode: RunModeSchema,
  status: RunStatusSchema,
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
  checkpointBefore: json,
  checkpointAfter: json,
  error: z.string().nullable(),
  counters: RunCountersSchema,
  evidence: json,
});

export const DeadLetterSchema = z.object({
  id: z.number().int(),
  stream: z.string(),
  key: z.string().nullable(),
  reason: z.string(),
  payload: z.string().describe('the raw record as received (JSON text)'),
  tombstone: z.boolean().optional(),
  runId: z.string(),
  status: z.enum(['open', 'resolved', 'replayed', 'ignored']),
  createdAt: isoTime,
  occurrences: z.number().int(),
  lastSeenAt: isoTime,
  resolvedAt: isoTime.nullable(),
  resolvedRunId: z.string().nullable(),
  sink: z.string().optional().describe('set on an event a sink refused: the sink (the payload is the event)'),
});

export const TriggerResultSchema = z.object({
  state: z.enum(['started', 'queued']),
  stream: z.string(),
  mode: RunModeSchema,
});

export const ApproveResponse = z.object({ approved: z.boolean(), message: z.string() });
export const ResetResponse = z.object({ message: z.string() });
export const ReplayResponse = z.object({ queued: z.array(TriggerResultSchema) });

export const SinkParams = z.object({ name: z.string().min(1).max(200).describe('the sink') });

export const SinkStatusSchema = z.object({
  name: z.string(),
  kind: z
    .enum(['sink', 'destination'])
    .describe('sink: a webhook, redis or nats sink; destination: a destination (`destinations:`)'),
  state: z
    .enum(['running', 'retrying', 'paused', 'stopped', 'elsewhere'])
    .describe('paused: failing for longer than its pauseAfter, waits for resume'),
  offset: z.number().int().describe('the highest seq the target confirmed'),
  lastError: z.string().nullable(),
  failingSince: z.string().nullable(),
  writes: z
    .object({
      ok: z.number().int(),
      unchanged: z.number().int(),
      skipped: z.number().int(),
      retry: z.number().int(),
      fail: z.number().int(),
    })
    .optional()
    .describe("a destination's records per outcome since the service started"),
  errorRate: z
    .number()
    .nullable()
    .optional()
    .describe("a destination's retried and refused records per record attempted, last 5 minutes; null: none"),
});

export const WorkerSchema = z.object({
  id: z.string().describe("the worker's lease holder id: host:pid:random:..."),
  host: z.string(),
  pid: z.number().int(),
  version: z.string().describe('its Syncline version'),
  schemaVersion: z.number().int().describe('the newest store schema version it knows'),
  concurrency: z.number().int().describe('runs it takes at once (sync.concurrency)'),
  timeoutMs: z.number().int().describe('without a heartbeat for this long, the others take it for dead'),
  startedAt: z.string(),
  heartbeatAt: z.string().describe('its last heartbeat, by the database clock'),
  live: z.boolean().describe('heartbeat within its timeout'),
  running: z
    .array(z.object({ job: z.string(), mode: z.string().nullable(), startedAt: z.string() }))
    .describe('the jobs it runs now: sync:<stream>, trigger:<stream>:<mode>, deliver:<sink>'),
});

export const ResumeSinkResponse = z.object({ resumed: z.boolean(), message: z.string() });

export const ReplaySinkBody = z.strictObject({
  ids: z
    .array(z.number({ error: ID_MESSAGE }).int(ID_MESSAGE).positive(ID_MESSAGE), {
      error: 'must be a list of dead letter ids (positive integers)',
    })
    .min(1, 'must list at least one dead letter id')
    .max(500, 'must list at most 500 dead letter ids')
    .optional()
    .describe('only these letters (ids from GET /v1/failed; default: every open letter of the sink)'),
});

export const ReplaySinkResponse = z.object({
  sink: z.string(),
  kind: z.enum(['sink', 'destination']),
  redelivered: z.number().int().describe('letters whose events the target confirmed: now replayed'),
  refusedAgain: z
    .number()
    .int()
    .describe('letters the target refused again: still open, with the new reason'),
  left: z.number().int().describe('letters not tried after a transient failure: still open'),
  error: z.string().nullable().describe('the transient failure (5xx, timeout) that stopped the replay'),
  message: z.string(),
});

export const WebhookReceivedResponse = z.object({
  received: z.literal(true),
  id: z.number().int().describe("the event's position in the inbox"),
  duplicate: z
    .boolean()
    .describe(
      'the inbox had this event id already (a redelivery): answered 200, or 409 when the stream says so',
    ),
});
