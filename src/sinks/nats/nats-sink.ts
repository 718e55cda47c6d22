import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { FatalError, TransientError } from '../../core/errors.ts';
import type { FeedEvent } from '../../core/feed-change.ts';
import { connectCredentials, redactUrl, scrubSecret, splitCredentials } from '../../core/redact-url.ts';
import type { DeliveryResult, Sink } from '../../core/sink.ts';
import { abortable, reason } from '../sink-support.ts';

/** The JetStream stream a sink creates when it is absent (an existing one is left as it is). */
export interface NatsStreamToCreate {
  readonly name: string;
  /** The subjects it captures (`syncline.>`, `syncline.*.*`). */
  readonly subjects: readonly string[];
  /** Messages older than this are dropped; null: kept until other limits. */
  readonly maxAgeMs: number | null;
  /** How long JetStream remembers a `Nats-Msg-Id` to drop a duplicate; null: the server's 2 min. */
  readonly duplicateWindowMs: number | null;
}

export interface NatsSinkOptions {
  readonly name: string;
  /** `nats://[user:password@]host:port` or `tls://...`; only its redacted form reaches errors. */
  readonly url: string;
  /** The subject of each event: `{stream}` and `{kind}` are the event's. */
  readonly subjectTemplate: string;
  /** A token, or a user and password (read from the environment by the caller). */
  readonly auth?: { readonly token: string } | { readonly user: string; readonly pass: string } | null;
  /** Created on the first connection when absent; null: the stream must exist already. */
  readonly createStream?: NatsStreamToCreate | null;
  /** How long one publish waits for its PubAck. Default 5 s. */
  readonly ackTimeoutMs?: number;
  /** How long connecting may take. Default 5 s. */
  readonly connectTimeoutMs?: number;
}

/** The subject of `event` under `template` (`{stream}`, `{kind}`). */
export function natsSubject(template: string, event: Pick<FeedEvent, 'stream' | 'kind'>): string {
  return template.replaceAll('{stream}', event.stream).replaceAll('{kind}', event.kind);
}

/**
 * Builds a NATS JetStream sink. Each event is one message (the event's JSON) published to the
 * subject of its template with `Nats-Msg-Id` = the event's id, so JetStream drops a retried
 * publish within the stream's duplicate window. A batch's publishes are all in flight at once, in
 * seq order on one connection; `deliver` resolves once every one has its PubAck (a `duplicate`
 * PubAck is a success). A lost connection, an ack timeout, or no stream capturing the subject
 * (503 no responders) is transient: the runner retries the batch and JetStream drops what it
 * already stored. A message larger than the server's `max_payload` (or the stream's
 * `max_msg_size`) is rejected for good. The connection is made on the first delivery, reconnects by
 * itself, and is drained by `close()`.
 */
export function createNatsSink(options: NatsSinkOptions): Sink {
  const { servers, user, pass } = splitCredentials(options.url);
  // `nats://token@host`: a user without a password is a token, as secret as a password.
  const where =
    user !== '' && pass === ''
      ? redactUrl(options.url).replace(/\/\/[^@/]*@/, '//***@')
      : redactUrl(options.url);
  const secrets = [
    pass,
    pass === '' ? user : '',
    options.auth && 'pass' in options.auth ? options.auth.pass : '',
    tokenOf(options.auth),
  ];
  const safe = (text: string) => secrets.reduce((out, s) => (s ? scrubSecret(out, s) : out), text);
  const ackTimeoutMs = options.ackTimeoutMs ?? 5000;
  const encoder = new TextEncoder();
  let nc: NatsConnection | null = null;
  let js: JetStreamClient | null = null;
  let streamReady = !options.createStream;
  const prefix = `sink "${options.name}"`;

  const connected = async (): Promise<{ nc: NatsConnection; js: JetStreamClient }> => {
    if (nc && js && !nc.isClosed()) return { nc, js };
    nc = null;
    js = null;
    const auth = connectCredentials(options.url, options.auth);
    let fresh: NatsConnection;
    try {
      fresh = await connect({
        servers,
        name: `syncline-sink:${options.name}`,
        timeout: options.connectTimeoutMs ?? 5000,
        reconnect: true,
        maxReconnectAttempts: -1,
        ...auth,
      });
    } catch (error) {
      throw new TransientError(`${prefix}: cannot connect to NATS at ${where}: ${safe(reason(error))}`, {
        summary: `cannot connect to ${where}`,
      });
    }
    nc = fresh;
    js = jetstream(fresh, { timeout: ackTimeoutMs });
    return { nc: fresh, js };
  };

  const ensureStream = async (conn: NatsConnection) => {
    const wanted = options.createStream;
    if (streamReady || !wanted) return;
    try {
      const jsm = await jetstreamManager(conn, { timeout: ackTimeoutMs });
      try {
        await jsm.streams.info(wanted.name);
      } catch (error) {
        if ((error as Error).name !== 'StreamNotFoundError') throw error;
        await jsm.streams.add({
          name: wanted.name,
          subjects: [...wanted.subjects],
          ...(wanted.maxAgeMs !== null ? { max_age: nanos(wanted.maxAgeMs) } : {}),
          ...(wanted.duplicateWindowMs !== null ? { duplicate_window: nanos(wanted.duplicateWindowMs) } : {}),
        });
      }
      streamReady = true;
    } catch (error) {
      if ((error as Error).name === 'JetStreamApiError') {
        throw new FatalError(
          `${prefix}: NATS refused to create JetStream stream "${wanted.name}" (subjects ${wanted.subjects.join(', ')}): ${safe(reason(error))}`,
        );
      }
      throw new TransientError(
        `${prefix}: cannot create JetStream stream "${wanted.name}" at ${where}: ${safe(describeNatsError(error))}`,
        { summary: `${where}: ${safe(describeNatsError(error))}` },
      );
    }
  };

  return {
    name: options.name,
    async deliver(events: readonly FeedEvent[], signal: AbortSignal): Promise<DeliveryResult> {
      signal.throwIfAborted();
      const conn = await abortable(connected(), signal);
      await abortable(ensureStream(conn.nc), signal);
      const subjects = events.map((event) => natsSubject(options.subjectTemplate, event));
      const publishes = events.map((event, i) =>
        conn.js.publish(subjects[i]!, encoder.encode(JSON.stringify(event)), { msgID: event.id }),
      );
      const settled = await abortable(Promise.allSettled(publishes), signal);
      const rejected: { event: FeedEvent; reason: string }[] = [];
      let fatal: FatalError | null = null;
      let transient: { index: number; error: unknown } | null = null;
      let failed = 0;
      settled.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') return;
        const error = outcome.reason;
        const tooLarge = tooLargeReason(error, conn.nc);
        if (tooLarge !== null) {
          rejected.push({ event: events[i]!, reason: tooLarge });
          return;
        }
        failed += 1;
        if ((error as Error)?.name === 'PermissionViolationError') {
          fatal ??= new FatalError(
            `${prefix}: NATS at ${where} does not allow publishing to "${subjects[i]}": ${safe(reason(error))}; grant the sink's user publish on it or change subject`,
          );
        } else {
          transient ??= { index: i, error };
        }
      });
      if (fatal) throw fatal;
      if (transient !== null) {
        const { index, error } = transient as { index: number; error: unknown };
        // The stream to create may have been deleted since: look again before the retry.
        if (isNoResponders(error) && options.createStream) streamReady = false;
        const what = isNoResponders(error)
          ? `no JetStream stream captures subject "${subjects[index]}" (503 no responders); create one whose subjects match it (the sink's createStream, or any JetStream client), and check that JetStream is on (nats-server -js)`
          : `publish to "${subjects[index]}" failed: ${safe(describeNatsError(error))}`;
        throw new TransientError(
          `${prefix}: NATS at ${where}: ${what} (${failed} of ${events.length} events not confirmed)`,
          {
            summary: isNoResponders(error)
              ? `no JetStream stream for ${subjects[index]}`
              : `${where}: ${safe(describeNatsError(error))}`,
          },
        );
      }
      return { rejected };
    },
    async close() {
      const open = nc;
      nc = null;
      js = null;
      if (open && !open.isClosed()) await open.drain().catch(() => open.close());
    },
  };
}

/** Why `error` rejects its event for good (too large for the server or the stream), or null. */
function tooLargeReason(error: unknown, nc: NatsConnection): string | null {
  const e = error as { name?: string; message?: string; code?: number };
  if (e?.name === 'InvalidArgumentError' && /max_payload/.test(e.message ?? '')) {
    return `the event is larger than the NATS server's max_payload (${nc.info?.max_payload ?? '?'} bytes); raise max_payload or send it with data: false`;
  }
  if (e?.name === 'JetStreamApiError' && e.code === 10054) {
    return `the event is larger than the JetStream stream's max_msg_size: ${reason(error)}`;
  }
  return null;
}

function isNoResponders(error: unknown): boolean {
  const e = error as { name?: string; cause?: { isNoResponders?: () => boolean } };
  return (
    e?.name === 'JetStreamNotEnabled' || e?.name === 'NoResponders' || e?.cause?.isNoResponders?.() === true
  );
}

function describeNatsError(error: unknown): string {
  const name = (error as Error)?.name;
  if (name === 'TimeoutError') return 'no PubAck before the timeout';
  return reason(error);
}

function tokenOf(auth: NatsSinkOptions['auth']): string {
  return auth && 'token' in auth ? auth.token : '';
}
