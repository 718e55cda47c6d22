import { createClient, MultiErrorReply } from 'redis';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { FeedEvent } from '../../core/feed-change.ts';
import { redactUrl, scrubSecret } from '../../core/redact-url.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import { abortable, reason } from '../sink-support.ts';

export interface RedisSinkOptions {
  readonly name: string;
  /** `redis://[user:password@]host:port[/db]`; only its redacted form reaches errors. */
  readonly url: string;
  /** The Redis stream key; `{stream}` becomes the event's Syncline stream. */
  readonly keyTemplate: string;
  /** `MAXLEN ~ n` on every XADD; null or absent: no trimming. */
  readonly maxLen?: number | null;
  /** How long connecting may take. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

/**
 * A client with no offline queue and no reconnecting: a command on a broken connection fails at
 * once, and the runner's retry (with its backoff and pauseAfter) is the only retry loop.
 */
function newClient(url: string, name: string, connectTimeoutMs: number) {
  return createClient({
    url,
    // CLIENT LIST shows which sink a connection belongs to.
    name: `syncline-sink:${name}`,
    disableOfflineQueue: true,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: false },
  });
}

type Client = ReturnType<typeof newClient>;

/** The Redis stream key of Syncline stream `stream`. */
export function redisStreamKey(template: string, stream: string): string {
  return template.replaceAll('{stream}', stream);
}

/**
 * Builds a Redis Streams sink. Each batch is one MULTI of `XADD <key> [MAXLEN ~ n] * id <event id>
 * seq <seq> event <JSON>` per event, in seq order; `deliver` resolves once Redis replied to all of
 * them, so the runner acknowledges only what Redis holds. A lost connection is transient and the
 * retry adds the batch again (at least once: consumers dedupe on `id`); a reply error (WRONGTYPE:
 * the key is not a stream) is fatal. The client connects on the first delivery, and a broken one is
 * dropped and built afresh by the next, rather than reconnecting behind the runner's back.
 */
export function createRedisSink(options: RedisSinkOptions): Sink {
  const where = redactUrl(options.url);
  const password = passwordOf(options.url);
  const safe = (text: string) => (password === '' ? text : scrubSecret(text, password));
  const trim =
    options.maxLen != null
      ? { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: options.maxLen } }
      : {};
  let client: Client | null = null;

  const drop = (broken: Client) => {
    if (client === broken) client = null;
    if (broken.isOpen) broken.destroy();
  };

  const connected = async (): Promise<Client> => {
    if (client?.isReady) return client;
    if (client) drop(client);
    const fresh = newClient(options.url, options.name, options.connectTimeoutMs ?? 5000);
    // Without a listener, an 'error' event (the socket closing) would crash the process.
    fresh.on('error', () => drop(fresh));
    try {
      await fresh.connect();
    } catch (error) {
      fresh.destroy();
      throw new TransientError(
        `sink "${options.name}": cannot connect to Redis at ${where}: ${safe(reason(error))}`,
        { summary: `cannot connect to ${where}` },
      );
    }
    client = fresh;
    return fresh;
  };

  return {
    name: options.name,
    async deliver(events: readonly FeedEvent[], signal: AbortSignal): Promise<DeliveryResult> {
      signal.throwIfAborted();
      const redis = await connected();
      const keys = events.map((event) => redisStreamKey(options.keyTemplate, event.stream));
      const multi = redis.multi();
      events.forEach((event, i) => {
        multi.xAdd(
          keys[i]!,
          '*',
          { id: event.id, seq: String(event.seq), event: JSON.stringify(event) },
          trim,
        );
      });
      try {
        await abortable(multi.exec(), signal);
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof MultiErrorReply) {
          const at = error.errorIndexes[0] ?? 0;
          throw new FatalError(
            `sink "${options.name}": Redis refused XADD to key "${keys[at]}": ${safe(reason(error.replies[at]))}; ` +
              "the key must be a stream (or absent): rename it or change the sink's stream template",
          );
        }
        drop(redis);
        throw new TransientError(
          `sink "${options.name}": Redis at ${where} failed mid-batch: ${safe(reason(error))}`,
          { summary: `${where}: ${safe(reason(error))}` },
        );
      }
      return { rejected: [] };
    },
    async close() {
      const open = client;
      client = null;
      if (open?.isOpen) await open.close().catch(() => open.destroy());
    },
  };
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
