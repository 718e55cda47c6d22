/**
 * Syncline's public API. Everything a config file or a program needs is exported here; anything
 * else is internal and may change.
 */

import { httpDestination } from './config/define-config.ts';
import { http as httpSources } from './sources/http/index.ts';

export {
  type ChangeSettings,
  type CustomDestinationSettings,
  type DestinationSettings,
  defineConfig,
  type HttpDestinationSettings,
  type ScheduleSettings,
  type ServiceSettings,
  type SynclineConfig,
  type SyncSettings,
} from './config/define-config.ts';
export { loadConfig, type ResolvedConfig, resolveConfig } from './config/load-config.ts';
export { canonicalJson, contentHash } from './core/canonical-json.ts';
export {
  type Destination,
  type DestinationItem,
  type DestinationMode,
  type DestinationResult,
  type DestinationWriteContext,
  fail,
  ok,
  retry,
  skipped,
} from './core/destination.ts';
export type {
  DestinationBatch,
  DestinationOperations,
  FieldSource,
  RecordMapSpec,
} from './core/destination-spec.ts';
export {
  ConfigError,
  FatalError,
  InterruptedError,
  LeaseHeldError,
  LeaseLostError,
  RecordError,
  StoreUnavailableError,
  SyncError,
  TransientError,
} from './core/errors.ts';
export { SyncEventBus, type SyncEvents } from './core/events.ts';
export type { FeedChange } from './core/feed-change.ts';
export type {
  Page,
  Reject,
  RequestReport,
  SourceArgs,
  SourceReport,
  StreamSource,
  Tombstone,
} from './core/source.ts';
export type { StandardSchemaV1 } from './core/standard-schema.ts';
export type { Store } from './core/store.ts';
export {
  defineStream,
  type FieldPath,
  type SourceInfo,
  type StreamDefinition,
} from './core/stream-definition.ts';
export type { TieBreakerType } from './core/tie-breaker.ts';
export type {
  Checkpoint,
  Json,
  Logger,
  RunCounters,
  RunMode,
  RunRecord,
  RunRequest,
  RunStatus,
  StreamStatus,
  TimeRange,
} from './core/types.ts';
export {
  compareWatermarks,
  IncrementalWatermark,
  type Watermark,
  type WatermarkSettings,
} from './core/watermark.ts';
export {
  type ChangesOptions,
  changes,
  type SubscribeOptions,
  type Subscription,
  subscribe,
} from './runtime/changes.ts';
export { loadProjectConfig } from './runtime/load-project-config.ts';
export { openStore } from './runtime/open-store.ts';
export { type PushOptions, type PushOutcome, push } from './runtime/push.ts';
export type { ChangeBatch } from './runtime/read-change-feed.ts';
export type { StreamOutcome } from './runtime/run-streams.ts';
export { type SyncOptions, sync } from './runtime/sync.ts';
export type {
  AuthConfig,
  CursorFormat,
  Duration,
  HttpRequestConfig,
  HttpStreamConfig,
  IncrementalConfig,
  PaginationConfig,
} from './sources/http/index.ts';
export {
  type WebhookReceiveConfig,
  type WebhookScheme,
  type WebhookStreamConfig,
  webhook,
} from './sources/webhook/index.ts';
/**
 * Declarative HTTP: `http.stream({...})` reads an API (a source), `http.destination({...})` writes
 * records into one.
 */
export const http = { ...httpSources, destination: httpDestination } as const;
/** Change events (Debezium, or plain JSON) from NATS JetStream or Redis Streams: `broker.stream({...})`. */
export {
  type BrokerConfig,
  type BrokerStreamConfig,
  broker,
  type NatsBrokerConfig,
  type RedisBrokerConfig,
} from './sources/broker/index.ts';
export type { CdcConfig, CdcStreamConfig } from './sources/cdc/index.ts';
export { cdc } from './sources/cdc/index.ts';
export type { FileConfig, FileFormat, FileStreamConfig } from './sources/file/index.ts';
/** File streams (CSV, NDJSON, JSON arrays): `file.stream({ name, key, file: { path | glob, format } })`. */
export { file } from './sources/file/index.ts';
export type { PollConfig, WebSocketConfig, WebSocketStreamConfig } from './sources/websocket/index.ts';
/** WebSocket streams gap-filled over REST: `websocket.stream({ name, key, websocket, poll })`. */
export { websocket } from './sources/websocket/index.ts';
