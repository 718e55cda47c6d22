import { FatalError, TransientError } from '../../core/errors.ts';
import { redactUrl, scrubSecret } from '../../core/redact-url.ts';
import type { Checkpoint } from '../../core/types.ts';
import type { BrokerMessage, BrokerReader, PositionCodec } from './broker-reader.ts';
import { POSITION_DIGITS } from './change-event.ts';

export interface RedisReaderOptions {
  /** The Syncline stream, for messages. */
  readonly stream: string;
  /** The server URL; it may carry a password (never shown). */
  readonly url: string;
  readonly key: string;
  readonly group: string;
  readonly consumer: string;
  readonly start: 'first' | 'new';
  /** The entry field holding the message; null: `value`, else the only field. */
  readonly field: string | null;
}

const CONNECT_TIMEOUT_MS = 5000;
/** Pending entries claimed per XAUTOCLAIM. */
const CLAIM_COUNT = 1000;
const ID = /^(\d+)-(\d+)$/;

/** A Redis entry id as a checkpoint keeps it: `{ redis: { key, id } }`. */
export function redisPositions(syncline: string, key: string): PositionCodec {
  return {
    checkpointOf: (label) => ({ redis: { key, id: label } }),
    labelOf(checkpoint: Checkpoint) {
      if (checkpoint === null) return null;
      const redis = (checkpoint as { redis?: { key?: unknown; id?: unknown } }).redis;
      if (redis && redis.key === key && typeof redis.id === 'string' && ID.test(redis.id)) return redis.id;
      throw new FatalError(
        `stream "${syncline}": the stored checkpoint ${JSON.stringify(checkpoint)} is not a position in Redis stream "${key}" (the broker settings changed?); run \`syncline reset ${syncline}\` to start from the group's position`,
        { stream: syncline },
      );
    },
    digitsOf: idDigits,
  };
}

/** An entry id `ms-seq` as fixed-width digits (16 for the time, 14 for the sequence). */
function idDigits(id: string): string {
  const [, ms, seq] = ID.exec(id) ?? [null, '0', '0'];
  return `${ms!.padStart(16, '0')}${seq!.padStart(POSITION_DIGITS - 16, '0')}`;
}

/** The Redis client library, loaded by the first reader that connects (a CLI without one starts faster). */
async function newClient(url: string, name: string) {
  const { createClient: create } = await import('redis');
  return create({
    url,
    name,
    disableOfflineQueue: true,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: false },
  });
}
type Client = Awaited<ReturnType<typeof newClient>>;

/**
 * Reads a Redis stream through a consumer group, as one consumer of a stable name. `open` creates
 * the group when absent (`MKSTREAM`, at `0` or `$`), claims whatever is pending in the group for
 * this consumer (XAUTOCLAIM: a renamed consumer's leftovers), and the first reads re-read this
 * consumer's pending entries (XREADGROUP from id 0: delivered and never acknowledged, in order)
 * before new ones (`>`). Blocking reads have a connection of their own, so acknowledgements
 * (XACK) are never queued behind them.
 */
export function redisReader(options: RedisReaderOptions): BrokerReader {
  const where = redactUrl(options.url);
  const password = passwordOf(options.url);
  const safe = (text: string) => (password === '' ? text : scrubSecret(text, password));
  const shown = `${where} key ${options.key} group ${options.group} consumer ${options.consumer}`;
  const prefix = `stream "${options.stream}"`;
  let reads: Client | null = null;
  let acks: Client | null = null;
  /** Re-reading this consumer's pending entries, from after this id; null once they are done. */
  let pendingAfter: string | null = '0';
  let end: string | null = null;

  const fail = (what: string, error: unknown): never => {
    const text = safe(firstLine(error));
    if (/^(WRONGTYPE|NOPERM|NOAUTH|WRONGPASS)/.test(text)) {
      throw new FatalError(`${prefix}: Redis at ${where} refused to ${what}: ${text}`, {
        stream: options.stream,
      });
    }
    throw new TransientError(`${prefix}: cannot ${what} at ${where}: ${text}`, {
      stream: options.stream,
      summary: `${where}: ${text}`,
    });
  };

  const toMessage = (id: string, fields: Record<string, string> | null): BrokerMessage => {
    const acker = acks;
    return {
      position: idDigits(id),
      label: id,
      where: `redis key ${options.key} entry ${id}`,
      body: fields === null ? null : bodyOf(fields, options.field),
      ...(fields === null
        ? { missing: 'the entry was trimmed from the stream (MAXLEN) before it was read' }
        : {}),
      ack: async () => {
        try {
          await acker?.xAck(options.key, options.group, id);
        } catch {
          // Still pending: re-read by the next run, then dropped as committed and acknowledged.
        }
      },
    };
  };

  return {
    shown,
    get end() {
      return end;
    },
    async open() {
      const connectOne = async (name: string) => {
        const client = await newClient(options.url, name);
        client.on('error', () => undefined);
        try {
          await client.connect();
        } catch (error) {
          client.destroy();
          fail('connect to Redis', error);
        }
        return client;
      };
      reads = await connectOne(`syncline:${options.stream}`);
      acks = await connectOne(`syncline:${options.stream}:acks`);
      try {
        await reads.xGroupCreate(options.key, options.group, options.start === 'new' ? '$' : '0', {
          MKSTREAM: true,
        });
      } catch (error) {
        if (!/^BUSYGROUP/.test(firstLine(error))) fail(`create consumer group "${options.group}"`, error);
      }
      let trimmed = 0;
      try {
        let cursor = '0-0';
        do {
          const claimed = await reads.xAutoClaim(options.key, options.group, options.consumer, 0, cursor, {
            COUNT: CLAIM_COUNT,
          });
          trimmed += claimed.deletedMessages?.length ?? 0;
          cursor = claimed.nextId;
        } while (cursor !== '0-0');
      } catch (error) {
        fail(`claim the pending entries of group "${options.group}"`, error);
      }
      try {
        const newest = (await reads.xRevRange(options.key, '+', '-', { COUNT: 1 }))?.[0];
        end = newest ? idDigits(newest.id) : null;
      } catch (error) {
        fail(`read the newest entry of "${options.key}"`, error);
      }
      pendingAfter = '0';
      return trimmed > 0
        ? [
            `${trimmed} entries delivered and not yet committed were trimmed from "${options.key}" (MAXLEN or XDEL) before they could be applied: lost`,
          ]
        : [];
    },
    async read(max, waitMs, signal) {
      if (!reads?.isReady) {
        throw new TransientError(`${prefix}: the Redis connection to ${where} closed`, {
          stream: options.stream,
        });
      }
      try {
        if (pendingAfter !== null) {
          const reply = await reads.xReadGroup(
            options.group,
            options.consumer,
            { key: options.key, id: pendingAfter },
            { COUNT: max },
          );
          const entries = entriesOf(reply);
          if (entries.length > 0) {
            pendingAfter = entries.at(-1)!.id;
            return entries.map((e) => toMessage(e.id, e.message));
          }
          pendingAfter = null;
        }
        if (signal.aborted) return [];
        const reply = await reads.xReadGroup(
          options.group,
          options.consumer,
          { key: options.key, id: '>' },
          { COUNT: max, BLOCK: Math.max(1, waitMs) },
        );
        return entriesOf(reply).map((e) => toMessage(e.id, e.message));
      } catch (error) {
        if (/^NOGROUP/.test(firstLine(error))) {
          throw new FatalError(
            `${prefix}: Redis at ${where}: the key "${options.key}" or its group "${options.group}" was deleted while reading; run the sync again to create them`,
            { stream: options.stream },
          );
        }
        return fail(`read from group "${options.group}"`, error);
      }
    },
    async close() {
      for (const client of [reads, acks]) {
        if (client?.isOpen) await client.close().catch(() => client.destroy());
      }
      reads = null;
      acks = null;
    },
  };
}

type Entry = { id: string; message: Record<string, string> | null };

/** The entries of an XREADGROUP reply for one key (node-redis gives a list of streams, or null). */
function entriesOf(reply: unknown): Entry[] {
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as { messages?: unknown };
  if (!Array.isArray(first.messages)) return [];
  return (first.messages as ({ id: string; message: Record<string, string> | null } | null)[])
    .filter((e): e is Entry => e !== null)
    .map((e) => ({ id: e.id, message: e.message ?? null }));
}

/** The message text of an entry: the configured field, else `value`, else the only field. */
function bodyOf(fields: Record<string, string>, field: string | null): string | null {
  if (field !== null) return fields[field] ?? null;
  if ('value' in fields) return fields.value ?? null;
  const values = Object.values(fields);
  return values.length === 1 ? values[0]! : null;
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || 'no reason given';
}
