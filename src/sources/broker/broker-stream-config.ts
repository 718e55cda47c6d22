import type { StreamDefinition } from '../../core/stream-definition.ts';
import type { Duration } from '../http/http-stream-config.ts';

/** Where a broker stream starts when its consumer (NATS) or group (Redis) does not exist yet. */
export type BrokerStart = 'first' | 'new';

/** A NATS JetStream stream read through a durable pull consumer Syncline owns. */
export interface NatsBrokerConfig {
  /** `nats://host:port` or `tls://...`; credentials only from the environment (`${NATS_URL}` in YAML, `urlEnv`, `tokenEnv`, `userEnv` + `passwordEnv`). Default `nats://127.0.0.1:4222`. */
  readonly url?: string;
  /** Environment variable holding the URL instead (it may carry `user:password@`). */
  readonly urlEnv?: string;
  /** Environment variable holding a token. */
  readonly tokenEnv?: string;
  /** Environment variables holding a user and its password. */
  readonly userEnv?: string;
  readonly passwordEnv?: string;
  /** The JetStream stream's name (e.g. `DebeziumStream`). */
  readonly stream: string;
  /** Only messages of this subject (wildcards allowed): the consumer's filter. Default: all of the stream. */
  readonly subject?: string;
  /** The durable consumer's name. Default `syncline_<stream name>`. One per Syncline stream. */
  readonly durable?: string;
  /** Where a consumer created afresh starts: `first` (default: everything the stream holds) or `new`. */
  readonly start?: BrokerStart;
  /** How long a delivered message may stay unacknowledged before JetStream redelivers it. Default `60s`. */
  readonly ackWait?: Duration;
  /** Messages delivered and not yet acknowledged, at most. Default 10000. */
  readonly maxAckPending?: number;
}

/** A Redis stream read through a consumer group Syncline owns. */
export interface RedisBrokerConfig {
  /** `redis://host:port[/db]` or `rediss://...`; a password only from the environment (`${REDIS_URL}` in YAML, or `urlEnv`). Default `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Environment variable holding the URL instead (it may carry `user:password@`). */
  readonly urlEnv?: string;
  /** The stream's key (Debezium Server's Redis sink: the topic name, e.g. `dbserver1.public.customers`). */
  readonly key: string;
  /** The consumer group. Default `syncline_<stream name>`. One per Syncline stream. */
  readonly group?: string;
  /** The consumer's name in the group; keep it stable. Default `syncline`. */
  readonly consumer?: string;
  /** Where a group created afresh starts: `first` (default, id `0`) or `new` (id `$`). */
  readonly start?: BrokerStart;
  /**
   * The entry field holding the message. Default: `value` when an entry has one (Debezium's
   * `extended` format), else the entry's only field (its `compact` format: key -> value).
   */
  readonly field?: string;
}

/** Exactly one broker. */
export type BrokerConfig = { readonly nats: NatsBrokerConfig } | { readonly redis: RedisBrokerConfig };

/**
 * A stream fed by change events from a broker: `broker.stream({...})` in code, `type: broker` in
 * JSON/YAML config.
 *
 * - `format: 'debezium'`: each message is a Debezium change event (`before`, `after`, `op`,
 *   `source`, with or without the `{ schema, payload }` wrapper). The record is `after` (or
 *   `before` for a delete) plus `__op`, `__ts_ms`, `__version` and `__deleted`; `version` and
 *   `deleted` are those fields and cannot be configured.
 * - `format: 'json'`: each message is one record (at `record` when given); `key`, `version` and
 *   `deleted` are the stream's fields as for any stream.
 */
export interface BrokerStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'fetchByKey' | 'receive' | 'sourceInfo'> {
  readonly broker: BrokerConfig;
  readonly format: 'debezium' | 'json';
  /** `format: json`: the path of the record in a message. Default: the message itself. */
  readonly record?: string;
  /** Messages per page (one commit). Default 500. */
  readonly pageSize?: number;
  /** How long a sync waits for more messages once caught up before it ends. Default `1s`. */
  readonly idle?: Duration;
}
