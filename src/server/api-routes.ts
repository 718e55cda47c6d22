import type { z } from 'zod';
import {
  ActionSchema,
  ActionsQuery,
  ApproveResponse,
  DeadLetterSchema,
  EventsQuery,
  FailedQuery,
  HealthResponse,
  IgnoreBody,
  IgnoreResponse,
  ReadyResponse,
  ReplayBody,
  ReplayResponse,
  ReplaySinkBody,
  ReplaySinkResponse,
  ResetResponse,
  ResumeSinkResponse,
  RunRecordSchema,
  RunsQuery,
  SinkParams,
  SinkStatusSchema,
  StreamParams,
  StreamViewSchema,
  TriggerResultSchema,
  WebhookReceivedResponse,
  WorkerSchema,
} from './api-schemas.ts';

/**
 * The routes of the HTTP API, described once: the app validates with these schemas and the OpenAPI
 * document is generated from this table; a test checks the app serves exactly these.
 */
export interface RouteSpec {
  readonly method: 'get' | 'post';
  /** Hono's form: `/v1/streams/:name/runs`. */
  readonly path: string;
  readonly summary: string;
  /** Whether the bearer token is required (when the service has one). */
  readonly auth: boolean;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The success status and what it carries; `text` for a body that is not JSON. */
  readonly status: 200 | 202;
  readonly response: z.ZodType | { readonly text: string };
  /** Answers 503 with the same shape when the service is not ready. */
  readonly unavailable?: boolean;
  /** Request headers it reads, by name: what each means. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Error answers beyond the usual ones (400, 401, 500, 504), by status: when. */
  readonly errors?: Readonly<Partial<Record<404 | 503, string>>>;
}

export const API_ROUTES = {
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'The process is up (no authentication)',
    auth: false,
    status: 200,
    response: HealthResponse,
  },
  readyz: {
    method: 'get',
    path: '/readyz',
    summary: 'The store is reachable and the scheduler running (no authentication); 503 when not',
    auth: false,
    status: 200,
    response: ReadyResponse,
    unavailable: true,
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary: 'Metrics in the Prometheus text format',
    auth: true,
    status: 200,
    response: { text: 'text/plain' },
  },
  streams: {
    method: 'get',
    path: '/v1/streams',
    summary: 'Every stream: scheduler state, last run, lag, freshness, records, open failures',
    auth: true,
    status: 200,
    response: StreamViewSchema.array(),
  },
  runs: {
    method: 'get',
    path: '/v1/streams/:name/runs',
    summary: "A stream's runs, newest first",
    auth: true,
    params: StreamParams,
    query: RunsQuery,
    status: 200,
    response: RunRecordSchema.array(),
  },
  failed: {
    method: 'get',
    path: '/v1/failed',
    summary: 'Dead-lettered records, newest first (open ones unless all=true)',
    auth: true,
    query: FailedQuery,
    status: 200,
    response: DeadLetterSchema.array(),
  },
  sync: {
    method: 'post',
    path: '/v1/streams/:name/sync',
    summary: 'Run a sync of the stream as soon as it is free',
    auth: true,
    params: StreamParams,
    status: 202,
    response: TriggerResultSchema,
  },
  reconcile: {
    method: 'post',
    path: '/v1/streams/:name/reconcile',
    summary: 'Run a reconciliation (a full scan that deletes what the source no longer has)',
    auth: true,
    params: StreamParams,
    status: 202,
    response: TriggerResultSchema,
  },
  approve: {
    method: 'post',
    path: '/v1/streams/:name/approve',
    summary: 'Let the next runs of a stream the backfill breaker paused through',
    auth: true,
    params: StreamParams,
    status: 200,
    response: ApproveResponse,
  },
  reset: {
    method: 'post',
    path: '/v1/streams/:name/reset',
    summary: "Clear the stream's checkpoint: its next run reads from the beginning (records stay)",
    auth: true,
    params: StreamParams,
    status: 200,
    response: ResetResponse,
  },
  replay: {
    method: 'post',
    path: '/v1/failed/replay',
    summary: 'Queue a replay of open dead letters: of ids, of a stream, or of every stream',
    auth: true,
    body: ReplayBody,
    status: 202,
    response: ReplayResponse,
  },
  ignore: {
    method: 'post',
    path: '/v1/failed/ignore',
    summary:
      'Set open dead letters aside (of ids, or every open one of a stream): they stop counting as failures, kept and listed with all=true',
    auth: true,
    body: IgnoreBody,
    status: 200,
    response: IgnoreResponse,
  },
  actions: {
    method: 'get',
    path: '/v1/actions',
    summary:
      "The operator's actions (sync, reconcile, approve, reset, replay, ignore, resume_sink, replay_sink) by the API, the dashboard or the CLI, newest first",
    auth: true,
    query: ActionsQuery,
    status: 200,
    response: ActionSchema.array(),
    errors: { 404: 'A stream neither the config nor the store has' },
  },
  sinks: {
    method: 'get',
    path: '/v1/sinks',
    summary:
      "The config's sinks and destinations (kind): state (running, retrying, paused, stopped), offset, last error",
    auth: true,
    status: 200,
    response: SinkStatusSchema.array(),
  },
  workers: {
    method: 'get',
    path: '/v1/workers',
    summary:
      'The workers of the cluster (a PostgreSQL store: every `syncline run` on it): host, pid, version, started, heartbeat, live, the jobs each runs; empty on SQLite',
    auth: true,
    status: 200,
    response: WorkerSchema.array(),
  },
  resumeSink: {
    method: 'post',
    path: '/v1/sinks/:name/resume',
    summary: 'Resume a sink paused after failing longer than its pauseAfter',
    auth: true,
    params: SinkParams,
    status: 200,
    response: ResumeSinkResponse,
  },
  replaySink: {
    method: 'post',
    path: '/v1/sinks/:name/replay',
    summary:
      'Redeliver the dead letters of a sink or destination (events its target refused) oldest first, in its batches; its offset stays',
    auth: true,
    params: SinkParams,
    body: ReplaySinkBody,
    status: 200,
    response: ReplaySinkResponse,
    errors: { 404: 'No such sink or destination, or an id that is no open letter of it' },
  },
  webhook: {
    method: 'post',
    path: '/v1/webhooks/:name',
    summary:
      "Receive a provider's webhook for a webhook stream: verified by its signature (no bearer token), written to the inbox before the answer, then applied by a sync of the stream",
    auth: false,
    params: StreamParams,
    headers: {
      'webhook-signature / Stripe-Signature / X-Hub-Signature-256':
        "the provider's signature over the raw body, as the stream's webhook.scheme says",
    },
    status: 200,
    response: WebhookReceivedResponse,
    errors: {
      404: 'No webhook stream of that name',
      503: 'The event could not be stored: send it again (providers retry a 5xx)',
    },
  },
  events: {
    method: 'get',
    path: '/v1/events',
    summary:
      'The change log as server-sent events (the sse sink): `id: <seq>`, `event: change`, `data: <change JSON>`, in seq order; resume with Last-Event-ID',
    auth: true,
    query: EventsQuery,
    headers: {
      'Last-Event-ID': 'the seq of the last event received: the stream resumes after it (wins over since)',
    },
    status: 200,
    response: { text: 'text/event-stream' },
    errors: {
      404: 'The config has no sse sink',
      503: 'The sse sink has maxClients clients already, or the service is stopping',
    },
  },
  openapi: {
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This document (OpenAPI 3.1)',
    auth: true,
    status: 200,
    response: { text: 'application/json' },
  },
} as const satisfies Record<string, RouteSpec>;
