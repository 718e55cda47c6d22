import type { Destination, DestinationMode } from '../core/destination.ts';
import type { DestinationOperations, RecordMapSpec } from '../core/destination-spec.ts';
import type { ScheduleSettings } from '../core/schedule.ts';
import type { SinkEventKind } from '../core/sink.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import type { RetrySettings } from '../core/types.ts';

/** What `syncline.config.ts` exports (as its default export, through `defineConfig`). */
export interface SynclineConfig {
  /**
   * Where records go: a SQLite file path (default `syncline.db` in the working directory) or a
   * `postgres://` URL. `--store` and the `SYNCLINE_STORE` environment variable override it; keep
   * passwords in the environment, not in this file.
   */
  readonly store?: string;
  readonly streams: readonly AnyStreamDefinition[];
  readonly sync?: SyncSettings;
  /** The change feed (`syncline changes`, `changes()`): how long the change log keeps its rows. */
  readonly changes?: ChangeSettings;
  /** `syncline run`, the long-running service: default schedule, address, shutdown, backoff. */
  readonly service?: ServiceSettings;
  /** Where the change log's events go (`syncline sinks run`, and inside `syncline run`). */
  readonly sinks?: readonly SinkSettings[];
  /** Where records are written into other APIs (README "Destinations"). */
  readonly destinations?: readonly DestinationSettings[];
}

/** A sink, by `type`: webhooks, Redis Streams, NATS JetStream and server-sent events. */
export type SinkSettings = WebhookSinkSettings | RedisSinkSettings | NatsSinkSettings | SseSinkSettings;

/**
 * Server-sent events: `syncline run` serves the change log at `GET /v1/events` on its HTTP API. Not
 * run by `syncline sinks run` and keeps no offset: each client resumes with `Last-Event-ID`. At
 * most one per config.
 */
export interface SseSinkSettings extends Omit<SinkCommonSettings, 'retry'> {
  readonly type: 'sse';
  /** A comment line (`: heartbeat`) this often, so proxies keep the connection. Default `15s`. */
  readonly heartbeat?: string | number;
  /**
   * Events queued for one client that its connection has not taken yet. When that many wait, one
   * more is due and the client takes none for a heartbeat interval, it is disconnected (too slow).
   * Default 1000.
   */
  readonly maxBuffered?: number;
  /** Clients connected at once; one more is answered 503. Default 100. */
  readonly maxClients?: number;
}

/** What every sink kind accepts. */
export interface SinkCommonSettings {
  /** Lower-case, unique: the sink's consumer in the change log is `sink:<name>`. */
  readonly name: string;
  /** Only the events of these streams. Default: every stream. */
  readonly streams?: readonly string[];
  /** Only these kinds of event. Default: the record changes (`insert`, `update`, `delete`); add `run` for run events. */
  readonly kinds?: readonly SinkEventKind[];
  /** Send each key's latest record as `data`. Default true; false leaves `data` out. */
  readonly data?: boolean;
  /** Backoff between attempts of a failing delivery. Defaults `1s` and `5m`. */
  readonly retry?: { readonly base?: string | number; readonly max?: string | number };
}

export interface WebhookSinkSettings extends SinkCommonSettings {
  readonly type: 'webhook';
  /** Where to POST; with several, each must confirm (2xx) for an event to count as delivered. */
  readonly url: string | readonly string[];
  /** The environment variable holding the Standard Webhooks secret (`whsec_...`). */
  readonly secretEnv: string;
  /** Events per request: 1 (default) posts one event object; more posts `{ "events": [...] }`. At most 1000. */
  readonly batchSize?: number;
  /** How long a request may take. Default `10s`. */
  readonly timeout?: string | number;
  /** An endpoint failing for longer than this pauses the sink until resumed. Default `15m`. */
  readonly pauseAfter?: string | number;
  /** Requests per second to each URL, at most. Default: no limit. */
  readonly rateLimit?: number;
  /** Allow loopback, private and link-local addresses (an internal receiver). Default false. */
  readonly allowPrivateTargets?: boolean;
}

export interface RedisSinkSettings extends SinkCommonSettings {
  readonly type: 'redis';
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). Its password is never printed. */
  readonly url: string;
  /** The Redis stream key; `{stream}` is the Syncline stream's name. Default `syncline:{stream}`. */
  readonly stream?: string;
  /**
   * Trim each Redis stream to about this many entries (`XADD ... MAXLEN ~ n`). Default: no
   * trimming. Trimming drops the oldest entries, read or not, so a slow consumer can miss some.
   */
  readonly maxLen?: number;
  /** Events per MULTI (one XADD each). Default 100, at most 1000. */
  readonly batchSize?: number;
  /** Redis failing for longer than this pauses the sink until resumed. Default `15m`. */
  readonly pauseAfter?: string | number;
}

export interface NatsSinkSettings extends SinkCommonSettings {
  readonly type: 'nats';
  /** `nats://[user:password@]host:port` (or `tls://`). Default `nats://127.0.0.1:4222`; never printed whole. */
  readonly url?: string;
  /** Each event's subject; `{stream}` and `{kind}` are the event's. Default `syncline.{stream}.{kind}`. */
  readonly subject?: string;
  /** The environment variable holding the server's auth token. */
  readonly tokenEnv?: string;
  /** The environment variables holding the user and password (both or neither). */
  readonly userEnv?: string;
  readonly passwordEnv?: string;
  /** How long a publish waits for its PubAck. Default `5s`. */
  readonly timeout?: string | number;
  /**
   * The JetStream stream to create when absent (an existing one is left as it is). Default: none,
   * the stream must exist. `subjects` defaults to the subject template with each placeholder token
   * a `*` (`syncline.*.*`); `duplicateWindow` to the server's 2 minutes.
   */
  readonly createStream?: {
    readonly name: string;
    readonly subjects?: readonly string[];
    readonly maxAge?: string | number;
    readonly duplicateWindow?: string | number;
  };
  /** Events per batch, all published at once. Default 100, at most 1000. */
  readonly batchSize?: number;
  /** NATS failing for longer than this pauses the sink until resumed. Default `15m`. */
  readonly pauseAfter?: string | number;
}

export type { ScheduleSettings, SinkEventKind };

/** What every kind of destination has. */
interface DestinationCommonSettings {
  /** Lower-case, unique: its consumer in the change log is `destination:<name>`. */
  readonly name: string;
  readonly streams: readonly string[];
  /** `upsert` (default), `update-only`, `create-only` or `mirror` (deletes follow). */
  readonly mode?: DestinationMode;
  /** Changes per batch (their map rows and offset commit together). Default 50, at most 1000. */
  readonly batchSize?: number;
  /** Backoff between attempts of a failing batch. Defaults `1s` and `5m`. */
  readonly retry?: { readonly base?: string | number; readonly max?: string | number };
  /** Failing for longer than this pauses the destination until resumed. Default `15m`. */
  readonly pauseAfter?: string | number;
}

/**
 * A destination: writes the records of its streams into an HTTP API (create, update, find,
 * delete, or a bulk upsert endpoint), remembering each object's id (`syncline_destination_map`).
 * Paths and query values are templates: `{externalId}`, `{key}`, `{stream}`, or a path of the record.
 */
export interface HttpDestinationSettings extends DestinationCommonSettings, DestinationOperations {
  readonly type: 'http';
  readonly baseUrl: string;
  /** Sent with every request. Put no secret here: use `tokenEnv`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The environment variable holding a bearer token (`Authorization: Bearer <token>`). */
  readonly tokenEnv?: string;
  /** The payload: per field, where its value comes from; or a function (TypeScript configs). */
  readonly map: RecordMapSpec;
  /** The header of a create's idempotency key. Default `Idempotency-Key`. */
  readonly idempotencyHeader?: string;
  /** Requests in flight at once (one per record; a key is never written twice at once). Default 4. */
  readonly concurrency?: number;
  /**
   * Requests per second, at most. Default: no limit. Either way the destination waits when the
   * API says its budget is spent (`X-RateLimit-Remaining: 0` / `RateLimit-Remaining: 0` until the
   * reset, a 429's `Retry-After`).
   */
  readonly rateLimit?: number;
  /** How long a request may take. Default `30s`. */
  readonly timeout?: string | number;
  /** Allow loopback, private and link-local addresses. Default false. */
  readonly allowPrivateTargets?: boolean;
}

/**
 * A custom destination (TypeScript configs): `destination.write(batch, ctx)` writes with any SDK
 * and answers `ok(externalId)`, `skipped()`, `retry(reason)` or `fail(reason)` per record.
 */
export interface CustomDestinationSettings extends DestinationCommonSettings {
  readonly type: 'custom';
  readonly destination: Destination;
  /** The payload each item carries. Default: the record as it is. */
  readonly map?: RecordMapSpec;
}

export type DestinationSettings = HttpDestinationSettings | CustomDestinationSettings;

/** Types an HTTP destination in a TypeScript config: `http.destination({ name, baseUrl, ... })`. */
export function httpDestination(settings: Omit<HttpDestinationSettings, 'type'>): HttpDestinationSettings {
  return { ...settings, type: 'http' };
}

export interface ServiceSettings {
  /**
   * The schedule of streams that name none (`{ every: '15m' }`, `{ cron: '0 * * * *' }`). Default:
   * none, and a stream without a schedule of its own runs only when triggered.
   */
  readonly schedule?: ScheduleSettings;
  /** Where the service's HTTP API listens, `host:port`. Default `127.0.0.1:7373` (this machine only). */
  readonly listen?: string;
  /**
   * How long a stop (SIGTERM, SIGINT) waits for the runs in progress to end at their next
   * checkpoint before the process exits anyway. A duration or milliseconds. Default `30s`.
   */
  readonly shutdownTimeout?: string | number;
  /**
   * With a PostgreSQL store, where `syncline run` processes form one cluster: how long a worker may
   * go without a heartbeat (sent every sixth of it) before the others take it for dead, hand its
   * jobs to other workers and release its streams' leases. Judged by the database's clock. Default `30s`.
   */
  readonly workerTimeout?: string | number;
  /**
   * After a run failed, a stream's next run waits at least `base * 2^(failures - 1)`, at most
   * `max`, whatever its schedule says. Defaults `5s` and `15m`.
   */
  readonly backoff?: { readonly base?: string | number; readonly max?: string | number };
}

export interface ChangeSettings {
  /**
   * How long a change-log row is kept after its commit, at least: it is deleted (at the end of a
   * sync) only once it is older than this and every registered consumer has acknowledged it; with
   * no consumer registered, by age alone. A duration (`7d`, `12h`) or milliseconds. Default `7d`.
   */
  readonly retention?: string | number;
}

export interface SyncSettings {
  /**
   * Pages fetched and prepared ahead of the one being committed, per stream; pages ready when a
   * commit starts share its transaction (up to this many and 5,000 records). Default 4.
   */
  readonly maxPagesInFlight?: number;
  /** Streams run at once by `syncline sync`, and by `syncline run` across its streams. Default 4. */
  readonly concurrency?: number;
  /** Lease time-to-live in ms; renewed every third of it. Default 30000. */
  readonly leaseTtlMs?: number;
  /**
   * The longest one run of a stream may take, in ms. Past it the run stops at its last committed
   * page, recorded `partial`; the next run continues there. Default: no limit.
   */
  readonly maxRunDurationMs?: number;
  /** Retries of failed requests (429, 5xx, timeouts, resets, truncated bodies). */
  readonly retry?: RetrySettings;
}

/** Identity function that gives `syncline.config.ts` its types. */
export function defineConfig(config: SynclineConfig): SynclineConfig {
  return config;
}
