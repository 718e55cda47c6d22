import type { FieldPath, StreamDefinition } from '../../core/stream-definition.ts';
import type { Duration, HttpStreamConfig } from '../http/http-stream-config.ts';

/** The request side of an HTTP stream: how the same records are read over REST (the gap-fill). */
export type PollConfig = Omit<HttpStreamConfig, 'name' | 'key' | 'cursor' | 'version' | 'deleted'>;

/** Where the live feed is and how to talk to it. */
export interface WebSocketConfig {
  /** `ws://` or `wss://` URL of the feed. */
  readonly url: string;
  /** JSON sent after each connect (a subscribe message), or a list of them sent in order. Default none. */
  readonly subscribe?: unknown;
  /** Path of the record in a frame; an array there is several records. Default `data`. */
  readonly records?: string;
  /** Only frames whose `path` equals one of `values` carry records (`{ path: 'type', values: ['candle'] }`). Default: every frame with a record at `records`. */
  readonly type?: { readonly path: string; readonly values: readonly (string | number | boolean)[] };
  /**
   * Path of a record field meaning "final" (`closed`). A final record ends the live page at once,
   * so it is committed without waiting for `flush.maxWait`. Records not final are applied too.
   */
  readonly closed?: string;
  /** Protocol pings every `interval`; no frame or pong within `timeout` means the connection is dead. Defaults 15s and 30s. */
  readonly heartbeat?: { readonly interval?: Duration; readonly timeout?: Duration };
  /** Reconnect on purpose when a connection is this old (set it under the provider's cut, e.g. `23h`). Default never. */
  readonly maxConnectionAge?: Duration;
  /** Backoff between failed connects: full jitter, from `base` doubling up to `max`. Defaults 1s and 30s. */
  readonly reconnect?: { readonly base?: Duration; readonly max?: Duration };
  /** A page of live records is cut at `maxRecords` records or `maxWait` after its first one. Defaults 500 and 1s. */
  readonly flush?: { readonly maxRecords?: number; readonly maxWait?: Duration };
  /** Headers of the upgrade request (no secrets here: use `tokenEnv`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Environment variable holding a bearer token sent as `Authorization: Bearer <token>`. */
  readonly tokenEnv?: string;
  /** Also send the token as `?token=` (feeds that cannot read headers). Default false. */
  readonly tokenQuery?: boolean;
}

/**
 * A stream fed live by a WebSocket and gap-filled over REST: `websocket.stream({...})` in code,
 * `type: websocket` in JSON/YAML config.
 */
export interface WebSocketStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'fetchByKey' | 'sourceInfo'> {
  readonly cursor?: FieldPath<R>;
  readonly websocket: WebSocketConfig;
  /** The same records over REST, read after every connect from the last REST checkpoint. Required. */
  readonly poll: PollConfig;
}
