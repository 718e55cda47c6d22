import { Webhook } from 'standardwebhooks';
import { FatalError } from '../../core/errors.ts';
import type { FeedEvent } from '../../core/feed-change.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import { createHttpTarget } from '../http-target.ts';
import { checkTarget } from '../target-guard.ts';

export interface WebhookSinkOptions {
  readonly name: string;
  /** Every event goes to each of them; a batch counts once all confirmed it. */
  readonly urls: readonly string[];
  /** The Standard Webhooks secret (`whsec_...`). Kept in the signer only: never logged or in errors. */
  readonly secret: string;
  /** 1: one event object per request; more: `{ "events": [...] }`. */
  readonly batchSize: number;
  readonly timeoutMs: number;
  /** Requests per second, per URL, at most. Default: no limit. */
  readonly rateLimit?: number;
  /** Allow loopback, private and link-local targets (tests, an internal receiver). Default false. */
  readonly allowPrivateTargets?: boolean;
}

/**
 * Builds a webhook sink after checking its URLs (`checkTarget`: the SSRF guard). Each delivery is
 * one signed POST per URL, after the URL's rate limit: 2xx confirms; 408, 429, 5xx, a timeout or
 * no answer is transient (a `Retry-After` is honoured); another 4xx rejects the request's events.
 */
export async function createWebhookSink(options: WebhookSinkOptions): Promise<Sink> {
  const urls = options.urls.map((u) => {
    try {
      return new URL(u);
    } catch {
      throw new FatalError(`sink "${options.name}": url is not a URL`);
    }
  });
  for (const url of urls)
    await checkTarget(`sink "${options.name}"`, url, options.allowPrivateTargets ?? false);
  let signer: Webhook;
  try {
    signer = new Webhook(options.secret);
  } catch {
    throw new FatalError(
      `sink "${options.name}": the secret is not a Standard Webhooks secret (whsec_<base64>)`,
    );
  }
  const target = createHttpTarget({
    owner: `sink "${options.name}"`,
    timeoutMs: options.timeoutMs,
    allowPrivateTargets: options.allowPrivateTargets ?? false,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  /** Which URLs confirmed the batch in flight: a retry does not post again where it was confirmed. */
  let confirmed: { id: string; urls: Set<string> } | null = null;

  const post = async (url: URL, id: string, body: string, signal: AbortSignal): Promise<string | null> => {
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'syncline-webhook',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signer.sign(id, timestamp, body),
    };
    const answer = await target.call({ method: 'POST', url, headers, body, paceKey: url.href }, signal);
    return answer.status >= 200 && answer.status < 300 ? null : `${answer.status} from ${answer.where}`;
  };

  /** One request (one event, or a batch): null when every URL confirmed, else why it was refused. */
  const send = async (id: string, body: string, signal: AbortSignal): Promise<string | null> => {
    if (confirmed?.id !== id) confirmed = { id, urls: new Set() };
    const done = confirmed.urls;
    const results = await Promise.all(
      urls
        .filter((u) => !done.has(u.href))
        .map(async (url) => {
          const refused = await post(url, id, body, signal);
          done.add(url.href);
          return refused;
        }),
    );
    confirmed = null;
    return results.find((r) => r !== null) ?? null;
  };

  return {
    name: options.name,
    async deliver(events: readonly FeedEvent[], signal: AbortSignal): Promise<DeliveryResult> {
      const rejected: { event: FeedEvent; reason: string }[] = [];
      if (options.batchSize === 1) {
        for (const event of events) {
          const refused = await send(event.id, JSON.stringify(event), signal);
          if (refused !== null) rejected.push({ event, reason: refused });
        }
        return { rejected };
      }
      const id = events.length === 1 ? events[0]!.id : `${events[0]!.id}..${events.at(-1)!.id}`;
      const refused = await send(id, JSON.stringify({ events }), signal);
      return { rejected: refused === null ? [] : events.map((event) => ({ event, reason: refused })) };
    },
    async close() {
      await target.close();
    },
  };
}
