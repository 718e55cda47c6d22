import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { Agent, fetch, type Response } from 'undici';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { FeedEvent } from '../../core/feed-change.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import { checkTarget, guardedLookup, PrivateTargetError } from './target-guard.ts';

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
  for (const url of urls) await checkTarget(options.name, url, options.allowPrivateTargets ?? false);
  let signer: Webhook;
  try {
    signer = new Webhook(options.secret);
  } catch {
    throw new FatalError(
      `sink "${options.name}": the secret is not a Standard Webhooks secret (whsec_<base64>)`,
    );
  }
  // Without allowPrivateTargets, every connection checks the addresses again (DNS rebinding).
  const agent = new Agent(options.allowPrivateTargets ? {} : { connect: { lookup: guardedLookup } });
  const gapMs = options.rateLimit ? 1000 / options.rateLimit : 0;
  const nextAt = new Map<string, number>();
  /** Which URLs confirmed the batch in flight: a retry does not post again where it was confirmed. */
  let confirmed: { id: string; urls: Set<string> } | null = null;

  const post = async (url: URL, id: string, body: string, signal: AbortSignal): Promise<string | null> => {
    if (gapMs > 0) {
      const at = Date.now();
      const wait = (nextAt.get(url.href) ?? 0) - at;
      nextAt.set(url.href, Math.max(at, nextAt.get(url.href) ?? 0) + gapMs);
      if (wait > 0) await sleep(wait, undefined, { signal });
    }
    const timestamp = new Date();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'syncline-webhook',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signer.sign(id, timestamp, body),
    };
    const where = `${url.host}${url.pathname}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        dispatcher: agent,
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
    } catch (error) {
      if (signal.aborted) throw error;
      const refused = causes(error).find((c) => c instanceof PrivateTargetError);
      if (refused) {
        throw new FatalError(
          `sink "${options.name}": url ${where}: ${refused.message}; set allowPrivateTargets: true if that is meant`,
        );
      }
      const timedOut = (error as Error).name === 'TimeoutError';
      const why = timedOut ? `no answer within ${options.timeoutMs} ms` : 'no answer (connection failed)';
      throw new TransientError(`sink "${options.name}": POST ${where}: ${why}`, {
        summary: `${where}: ${why}`,
      });
    }
    const { status } = response;
    if (status >= 200 && status < 300) return null;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = retryAfter(response.headers.get('retry-after'));
      throw new TransientError(`sink "${options.name}": POST ${where}: ${status}`, {
        summary: `${status} from ${where}`,
        throttled: status === 429,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
    }
    return `${status} from ${where}`;
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
      await agent.close();
    },
  };
}

/** `Retry-After` in ms: seconds, or an HTTP date. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The error and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let e = error;
    e !== undefined && e !== null && chain.length < 10;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  return chain;
}
