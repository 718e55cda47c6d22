import { createHash } from 'node:crypto';
import { parseDuration } from '../../core/cursor-time.ts';
import { ConfigError, FatalError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import { encodeKey } from '../../core/key-codec.ts';
import type { PushReceiver } from '../../core/push.ts';
import type { Page, SourceArgs, Tombstone } from '../../core/source.ts';
import type { StoredInboxEvent } from '../../core/store.ts';
import type { StreamDefinition } from '../../core/stream-definition.ts';
import { httpStream } from '../http/http-stream.ts';
import type { HttpStreamConfig } from '../http/http-stream-config.ts';
import { createWebhookVerifier } from './webhook-signature.ts';
import type { WebhookReceiveConfig, WebhookStreamConfig } from './webhook-stream-config.ts';
import { validateWebhookStream } from './webhook-stream-schema.ts';

/** Inbox events applied per page by default. */
const PAGE_SIZE = 500;
/** The largest body accepted by default. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** The default timestamp tolerance. */
const TOLERANCE = '5m';

/** Where a webhook stream's run is in the inbox: the id of the last event it applied. */
interface InboxCheckpoint {
  readonly inbox: number;
}

/**
 * A webhook stream (`webhook.stream({...})`, or `type: webhook` in YAML/JSON): `syncline run`
 * receives its events at `POST /v1/webhooks/<name>` (verified, then written to the inbox before the
 * 2xx), and its sync runs apply the inbox from the last applied event on, as pages, through the
 * ordinary path (version merge, one transaction with the checkpoint). Reconciliations, backfills
 * and refreshes read `poll`, the same records over REST: the safety net for what webhooks missed.
 */
export function webhookStream<R extends object>(config: WebhookStreamConfig<R>): StreamDefinition<R> {
  validateWebhookStream(config);
  const keyFields = (Array.isArray(config.key) ? config.key : [config.key]) as string[];
  const webhook = config.webhook;
  if (webhook.fetch && !config.poll?.fetchById) {
    throw new ConfigError(
      `stream "${config.name}": webhook.fetch reads each notified record through poll.fetchById; add poll: { request, pagination, fetchById: { path } }`,
    );
  }
  const { webhook: _webhook, poll: pollConfig, pageSize: _pageSize, ...shared } = config;
  const poll = pollConfig
    ? httpStream({ ...(pollConfig as HttpStreamConfig<R>), ...shared } as HttpStreamConfig<R>)
    : null;
  const secrets = typeof webhook.secretsEnv === 'string' ? [webhook.secretsEnv] : [...webhook.secretsEnv];
  return {
    ...shared,
    source: (args) => readWebhookStream(config, keyFields, poll, args),
    ...(poll?.fetchByKey ? { fetchByKey: poll.fetchByKey } : {}),
    receive: (secret) => webhookReceiver(webhook, secrets.map(secret)),
    sourceInfo: {
      kind: 'webhook',
      reads: `POST /v1/webhooks/${config.name} (${webhook.scheme.type} signatures)${poll?.sourceInfo?.reads ? `; polls ${poll.sourceInfo.reads}` : ''}`,
      secrets: [...secrets, ...(poll?.sourceInfo?.secrets ?? [])],
    },
  };
}

/** Checks each request of a webhook stream: size, signature and timestamp, a JSON body, its event id. */
export function webhookReceiver(webhook: WebhookReceiveConfig, secrets: readonly string[]): PushReceiver {
  const maxBodyBytes = webhook.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const verify = createWebhookVerifier(webhook.scheme, secrets, {
    toleranceMs: parseDuration(webhook.tolerance ?? TOLERANCE),
  });
  const eventIdPath = webhook.eventId ?? 'id';
  const typeHeader = webhook.eventTypeHeader?.toLowerCase();
  return {
    maxBodyBytes,
    duplicateStatus: webhook.duplicateStatus ?? 200,
    accept(request) {
      if (request.body.length > maxBodyBytes) {
        return { ok: false, status: 413, reason: `the body is larger than ${maxBodyBytes} bytes` };
      }
      const verdict = verify(request);
      if (!verdict.ok) return verdict;
      let body: unknown;
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        return { ok: false, status: 400, reason: 'the body is not JSON' };
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return { ok: false, status: 400, reason: 'the body is not a JSON object (one event per request)' };
      }
      const fromBody = readPath(body, eventIdPath);
      const eventId =
        verdict.eventId ??
        (typeof fromBody === 'string' || typeof fromBody === 'number'
          ? String(fromBody)
          : `sha256:${createHash('sha256').update(request.body).digest('hex')}`);
      const type = typeHeader ? request.headers(typeHeader) : undefined;
      return { ok: true, eventId, headers: type !== undefined ? { [typeHeader!]: type } : {} };
    },
  };
}

async function* readWebhookStream<R extends object>(
  config: WebhookStreamConfig<R>,
  keyFields: readonly string[],
  poll: StreamDefinition<R> | null,
  args: SourceArgs,
): AsyncGenerator<Page<unknown>> {
  const mode = args.request.mode;
  if (mode !== 'sync') {
    if (!poll || (mode !== 'reconcile' && mode !== 'backfill')) {
      throw new FatalError(
        `stream "${config.name}": a webhook stream ${mode === 'refresh' ? 'refreshes through poll.fetchById' : `${mode}s over REST`}; add poll: { request, pagination${mode === 'refresh' ? ', fetchById' : ''} } (the same records from the provider's API)`,
        { stream: config.name },
      );
    }
    yield* poll.source(args);
    return;
  }
  if (!args.inbox) {
    throw new FatalError(`stream "${config.name}": a webhook stream needs a store with an inbox`, {
      stream: config.name,
    });
  }
  const pageSize = config.pageSize ?? PAGE_SIZE;
  let afterId = (args.checkpoint as InboxCheckpoint | null)?.inbox ?? 0;
  for (;;) {
    if (args.signal.aborted) return;
    const events = await args.inbox.readInbox({ stream: config.name, afterId, limit: pageSize });
    if (events.length === 0) return;
    const page = await pageOf(config, keyFields, poll, events, args);
    afterId = page.lastId;
    yield {
      records: page.records,
      tombstones: page.tombstones,
      checkpoint: { inbox: afterId } satisfies InboxCheckpoint,
    };
    if (events.length < pageSize && afterId === events.at(-1)!.id) return;
  }
}

/**
 * The records and tombstones of the first inbox events, up to `lastId`. A page applies its records
 * before its tombstones, so it ends before a record event of a key it already holds a delete of
 * (the key deleted, then made again): that event starts the next page.
 */
async function pageOf<R extends object>(
  config: WebhookStreamConfig<R>,
  keyFields: readonly string[],
  poll: StreamDefinition<R> | null,
  events: readonly StoredInboxEvent[],
  args: SourceArgs,
): Promise<{ records: unknown[]; tombstones: Tombstone[]; lastId: number }> {
  const webhook = config.webhook;
  const records: unknown[] = [];
  const tombstones: Tombstone[] = [];
  const notified: string[] = [];
  const deleted = new Set<string>();
  let lastId = events[0]!.id - 1;
  for (const event of events) {
    const body = JSON.parse(event.body) as unknown;
    const typeHeader = webhook.eventTypeHeader?.toLowerCase();
    const typeValue = typeHeader ? event.headers[typeHeader] : readPath(body, webhook.eventType ?? 'type');
    const type = typeof typeValue === 'string' ? typeValue : null;
    if (webhook.types && (type === null || !webhook.types.includes(type))) continue;
    const record = webhook.record ? readPath(body, webhook.record) : body;
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      args.log.warn(
        { stream: config.name, eventId: event.eventId, type },
        `webhook event has no record at ${webhook.record ?? 'its body'}: skipped`,
      );
      lastId = event.id;
      continue;
    }
    const key = keyOf(record, keyFields);
    if (type !== null && webhook.deleteTypes?.includes(type)) {
      tombstones.push({ key: record, deletedAt: null });
      if (key !== null) deleted.add(key);
    } else if (key !== null && deleted.has(key) && lastId >= events[0]!.id) {
      break; // made again after its delete in this page: the next page applies it
    } else if (webhook.fetch) {
      if (key !== null) notified.push(key);
    } else {
      records.push(record);
    }
    lastId = event.id;
  }
  if (notified.length > 0 && poll?.fetchByKey) {
    // Fetch-on-notify: the current record of each key named, whatever the event said of it.
    const keys = [...new Set(notified)];
    for await (const fetched of poll.fetchByKey({ ...args, request: { mode: 'refresh', keys } })) {
      records.push(...fetched.records);
      tombstones.push(...(fetched.tombstones ?? []));
    }
  }
  return { records, tombstones, lastId };
}

/** The record's `_key`, or null when its key fields are missing (the engine dead-letters it). */
function keyOf(record: object, keyFields: readonly string[]): string | null {
  try {
    return encodeKey(record, keyFields);
  } catch {
    return null;
  }
}
