import type { StreamDefinition } from '../../core/stream-definition.ts';
import type { Duration, HttpStreamConfig } from '../http/http-stream-config.ts';
import type { WebhookScheme } from './webhook-signature.ts';

/** How a webhook stream receives: the provider's signature scheme and where things are in an event. */
export interface WebhookReceiveConfig {
  /** How the provider signs (`standard`, `stripe`, `github`, or a generic `hmac`). */
  readonly scheme: WebhookScheme;
  /** The environment variables holding the signing secrets: any one of them verifies (rotation). */
  readonly secretsEnv: string | readonly string[];
  /** How far an event's signed timestamp may be from now, either way (replay protection). Default `5m`. */
  readonly tolerance?: Duration;
  /** Larger bodies are refused 413. Default 1 MiB (1048576). */
  readonly maxBodyBytes?: number;
  /**
   * Body path of the event's id, used when the scheme's headers carry none (Stripe: `id`); events
   * are deduplicated by it. Default `id`; an event without one is known by its body's hash.
   */
  readonly eventId?: string;
  /** Body path of the event's type (`type`, `event`). Default `type`. */
  readonly eventType?: string;
  /** Header holding the event's type instead (GitHub: `x-github-event`). */
  readonly eventTypeHeader?: string;
  /** Body path of the record in an event (`data.object`). Default: the body itself. */
  readonly record?: string;
  /** Event types that mean the record was deleted (`customer.deleted`): applied as tombstones. */
  readonly deleteTypes?: readonly string[];
  /** Only events of these types are applied; others are accepted and skipped. Default: all. */
  readonly types?: readonly string[];
  /**
   * Fetch-on-notify: the event only names the record (its key, at `record`), and the current
   * record is read through `poll.fetchById`, so the payload is a hint and never applied as is.
   */
  readonly fetch?: boolean;
  /** The answer to a redelivered event: 200 (default) or 409. */
  readonly duplicateStatus?: 200 | 409;
}

/**
 * A webhook stream: events pushed to `POST /v1/webhooks/<name>` on `syncline run`'s API, verified,
 * written to the inbox, then applied by the stream's runs like pulled pages; `poll` reads the same
 * stream over REST for reconciliations (the safety net), refreshes and fetch-on-notify.
 */
export interface WebhookStreamConfig<R extends object = Record<string, unknown>>
  extends Omit<StreamDefinition<R>, 'source' | 'fetchByKey' | 'receive'> {
  readonly webhook: WebhookReceiveConfig;
  /** The same records over the provider's REST API: an HTTP stream's request side. */
  readonly poll?: Omit<HttpStreamConfig<R>, keyof StreamDefinition<R>>;
  /** Inbox events applied per page. Default 500. */
  readonly pageSize?: number;
}
