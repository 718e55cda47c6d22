import type * as JetStream from '@nats-io/jetstream';
import type { Consumer, ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import type * as Transport from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { FatalError, TransientError } from '../../core/errors.ts';
import { connectCredentials, redactUrl, scrubSecret, splitCredentials } from '../../core/redact-url.ts';
import type { Checkpoint } from '../../core/types.ts';
import type { BrokerMessage, BrokerReader, PositionCodec } from './broker-reader.ts';
import { POSITION_DIGITS } from './change-event.ts';

export interface NatsReaderOptions {
  /** The Syncline stream, for messages. */
  readonly stream: string;
  /** The server URL; it may carry credentials (never shown). */
  readonly url: string;
  readonly auth: { readonly token: string } | { readonly user: string; readonly pass: string } | null;
  /** The JetStream stream. */
  readonly jsStream: string;
  readonly subject: string | null;
  readonly durable: string;
  readonly start: 'first' | 'new';
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

const TIMEOUT_MS = 5000;
/** The shortest pull request JetStream clients make. */
const MIN_EXPIRES_MS = 1000;
const decoder = new TextDecoder();

/** A NATS stream sequence as a checkpoint keeps it: `{ nats: { stream, seq } }`. */

/** The NATS client libraries, loaded by the first reader that connects (a CLI without one starts faster). */
type NatsLibrary = typeof JetStream & Pick<typeof Transport, 'connect' | 'nanos'>;
async function natsLibrary(): Promise<NatsLibrary> {
  const [jetStream, transport] = await Promise.all([
    import('@nats-io/jetstream'),
    import('@nats-io/transport-node'),
  ]);
  return { ...jetStream, connect: transport.connect, nanos: transport.nanos };
}

export function natsPositions(syncline: string, jsStream: string): PositionCodec {
  return {
    checkpointOf: (label) => ({ nats: { stream: jsStream, seq: Number(label) } }),
    labelOf(checkpoint: Checkpoint) {
      if (checkpoint === null) return null;
      const nats = (checkpoint as { nats?: { stream?: unknown; seq?: unknown } }).nats;
      if (nats && nats.stream === jsStream && Number.isSafeInteger(nats.seq)) return String(nats.seq);
      throw new FatalError(
        `stream "${syncline}": the stored checkpoint ${JSON.stringify(checkpoint)} is not a position in JetStream stream "${jsStream}" (the broker settings changed?); run \`syncline reset ${syncline}\` to start from the consumer's position`,
        { stream: syncline },
      );
    },
    digitsOf: (label) => label.padStart(POSITION_DIGITS, '0'),
  };
}

/**
 * Reads a JetStream stream through a durable pull consumer with explicit acks. The consumer is
 * Syncline's: `open` creates it when absent and, when its state is not the committed checkpoint's
 * (a killed run left deliveries unacknowledged, or it delivered past the checkpoint: a restored
 * store), deletes and creates it again to start just after the checkpoint, so what was not
 * committed comes again at once and in order rather than after `ackWait`.
 */
export function natsReader(options: NatsReaderOptions): BrokerReader {
  const { servers, user, pass } = splitCredentials(options.url);
  // `nats://token@host`: a user without a password is a token, as secret as a password.
  const secrets = [
    pass,
    pass === '' ? user : '',
    options.auth && 'pass' in options.auth ? options.auth.pass : '',
    tokenOf(options),
  ];
  const safe = (text: string) => secrets.reduce((out, s) => (s ? scrubSecret(out, s) : out), text);
  const where = redactUrl(servers);
  const shown = `${where} stream ${options.jsStream}${options.subject ? ` (${options.subject})` : ''} consumer ${options.durable}`;
  const prefix = `stream "${options.stream}"`;
  let nc: NatsConnection | null = null;
  let consumer: Consumer | null = null;
  let end: string | null = null;
  /** One flush for the acknowledgements sent in the same turn of the event loop. */
  let flushing: Promise<void> | null = null;
  const flushed = (connection: NatsConnection): Promise<void> => {
    flushing ??= Promise.resolve()
      .then(() => connection.flush())
      .catch(() => undefined)
      .finally(() => {
        flushing = null;
      });
    return flushing;
  };

  const fail = (what: string, error: unknown): never => {
    const name = (error as Error)?.name;
    const text = safe(firstLine(error));
    if (name === 'StreamNotFoundError') {
      throw new FatalError(
        `${prefix}: NATS at ${where} has no JetStream stream "${options.jsStream}"; create it (Debezium Server's NATS JetStream sink can: debezium.sink.nats-jetstream.create-stream=true) or fix broker.nats.stream`,
        { stream: options.stream },
      );
    }
    if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
      throw new FatalError(
        `${prefix}: NATS at ${where} refused the login: ${text}; check broker.nats (urlEnv, tokenEnv, userEnv + passwordEnv)`,
        { stream: options.stream },
      );
    }
    if (name === 'JetStreamApiError' || name === 'PermissionViolationError') {
      throw new FatalError(`${prefix}: NATS at ${where} refused to ${what}: ${text}`, {
        stream: options.stream,
      });
    }
    throw new TransientError(`${prefix}: cannot ${what} at ${where}: ${text}`, {
      stream: options.stream,
      summary: `${where}: ${text}`,
    });
  };

  const wanted = (lib: NatsLibrary, startSeq: number | null) => ({
    durable_name: options.durable,
    ack_policy: lib.AckPolicy.Explicit,
    ack_wait: lib.nanos(options.ackWaitMs),
    max_ack_pending: options.maxAckPending,
    max_deliver: -1,
    ...(options.subject ? { filter_subject: options.subject } : {}),
    ...(startSeq !== null
      ? { deliver_policy: lib.DeliverPolicy.StartSequence, opt_start_seq: startSeq }
      : { deliver_policy: options.start === 'new' ? lib.DeliverPolicy.New : lib.DeliverPolicy.All }),
  });

  const ensureConsumer = async (lib: NatsLibrary, jsm: JetStreamManager, committed: string | null) => {
    let info: ConsumerInfo | null = null;
    try {
      info = await jsm.consumers.info(options.jsStream, options.durable);
    } catch (error) {
      if ((error as Error).name !== 'ConsumerNotFoundError') throw error;
    }
    const committedSeq = committed === null ? null : Number(committed);
    if (info === null) {
      await jsm.consumers.add(options.jsStream, wanted(lib, committedSeq === null ? null : committedSeq + 1));
      return;
    }
    const settingsDiffer =
      info.config.ack_policy !== lib.AckPolicy.Explicit ||
      (info.config.filter_subject ?? '') !== (options.subject ?? '');
    const unclean =
      info.num_ack_pending > 0 || (committedSeq !== null && info.delivered.stream_seq > committedSeq);
    if (!settingsDiffer && !unclean) {
      if (
        info.config.ack_wait !== lib.nanos(options.ackWaitMs) ||
        info.config.max_ack_pending !== options.maxAckPending
      ) {
        await jsm.consumers.update(options.jsStream, options.durable, {
          ack_wait: lib.nanos(options.ackWaitMs),
          max_ack_pending: options.maxAckPending,
        });
      }
      return;
    }
    // Start again just after what is committed; without a checkpoint, after what the consumer had
    // acknowledged (its ack floor), as the broker knows it.
    const from = committedSeq ?? info.ack_floor.stream_seq;
    await jsm.consumers.delete(options.jsStream, options.durable);
    await jsm.consumers.add(options.jsStream, wanted(lib, from + 1));
  };

  return {
    shown,
    get end() {
      return end;
    },
    async open(committed) {
      const lib = await natsLibrary();
      try {
        nc = await lib.connect({
          servers,
          name: `syncline:${options.stream}`,
          timeout: TIMEOUT_MS,
          reconnect: false,
          ...connectCredentials(options.url, options.auth),
        });
      } catch (error) {
        fail('connect to NATS', error);
      }
      try {
        const jsm = await lib.jetstreamManager(nc!, { timeout: TIMEOUT_MS });
        const info = await jsm.streams.info(options.jsStream);
        if (info.config.retention !== 'limits') {
          // Recreating the consumer (below) would let JetStream drop what it had not acknowledged.
          throw new FatalError(
            `${prefix}: JetStream stream "${options.jsStream}" has ${info.config.retention} retention; a broker stream reads a stream with limits retention (the default: keep messages by max_age, max_msgs, max_bytes)`,
            { stream: options.stream },
          );
        }
        const last = info.state.last_seq;
        if (committed !== null && last < Number(committed)) {
          throw new FatalError(
            `${prefix}: JetStream stream "${options.jsStream}" ends at sequence ${last}, before the committed ${committed}: it was deleted and made again; run \`syncline reset ${options.stream}\` to read it afresh`,
            { stream: options.stream },
          );
        }
        end = last > 0 ? String(last).padStart(POSITION_DIGITS, '0') : null;
        await ensureConsumer(lib, jsm, committed);
        consumer = await lib
          .jetstream(nc!, { timeout: TIMEOUT_MS })
          .consumers.get(options.jsStream, options.durable);
      } catch (error) {
        if (error instanceof FatalError) throw error;
        fail(`set up consumer "${options.durable}" on JetStream stream "${options.jsStream}"`, error);
      }
      return [];
    },
    async read(max, waitMs, signal) {
      if (!consumer || !nc || nc.isClosed()) {
        throw new TransientError(`${prefix}: the NATS connection to ${where} closed`, {
          stream: options.stream,
        });
      }
      const messages: BrokerMessage[] = [];
      try {
        // What waits to be delivered now is fetched without waiting for a full batch; only a
        // caught-up consumer waits (`idle`) for the next message.
        const pending = (await consumer.info(false)).num_pending;
        const batch = pending > 0 ? Math.min(max, pending) : max;
        const fetched = await consumer.fetch({
          max_messages: batch,
          expires: Math.max(MIN_EXPIRES_MS, pending > 0 ? TIMEOUT_MS : waitMs),
        });
        const stop = () => fetched.stop();
        signal.addEventListener('abort', stop, { once: true });
        try {
          for await (const m of fetched) {
            const seq = m.seq;
            const connection = nc;
            messages.push({
              position: String(seq).padStart(POSITION_DIGITS, '0'),
              label: String(seq),
              where: `nats stream ${options.jsStream} seq ${seq} (${m.subject})`,
              body: m.data.length === 0 ? null : decoder.decode(m.data),
              ack: () => {
                try {
                  m.ack();
                } catch {
                  // Redelivered later, and then dropped as committed and acknowledged.
                }
                return flushed(connection);
              },
            });
          }
        } finally {
          signal.removeEventListener('abort', stop);
        }
      } catch (error) {
        if (signal.aborted) return messages;
        fail(`read from consumer "${options.durable}"`, error);
      }
      return messages;
    },
    async close() {
      const open = nc;
      nc = null;
      consumer = null;
      if (open && !open.isClosed()) await open.drain().catch(() => open.close());
    },
  };
}

function tokenOf(options: NatsReaderOptions): string {
  return options.auth && 'token' in options.auth ? options.auth.token : '';
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || 'no reason given';
}
