import { describe, expect, it } from 'vitest';
import { type MessageContext, POSITION_DIGITS, readMessage } from './change-event.ts';

const position = (n: number) => String(n).padStart(POSITION_DIGITS, '0');
const debezium = (over: Partial<MessageContext> = {}): MessageContext => ({
  format: 'debezium',
  keyFields: ['id'],
  recordPath: null,
  where: 'nats stream DBZ seq 7 (dbz.public.customers)',
  positionDigits: position(7),
  ...over,
});

/** A Debezium PostgreSQL change event as its JSON converter writes it (schemas off). */
function event(op: string, before: object | null, after: object | null, lsn: number | null = 100) {
  return {
    before,
    after,
    source: {
      version: '2.7.0.Final',
      connector: 'postgresql',
      name: 'dbserver1',
      ts_ms: 1_765_000_000_000,
      db: 'shop',
      schema: 'public',
      table: 'customers',
      ...(lsn === null ? {} : { lsn }),
    },
    op,
    ts_ms: 1_765_000_000_123,
  };
}

describe('readMessage, Debezium', () => {
  it('takes after for c, u and r, with the op, the time, the lsn as version and not deleted', () => {
    for (const op of ['c', 'u', 'r']) {
      const read = readMessage(JSON.stringify(event(op, null, { id: 1, name: 'Ada' }, 2345)), debezium());
      expect(read).toEqual({
        kind: 'record',
        record: {
          id: 1,
          name: 'Ada',
          __op: op,
          __ts_ms: 1_765_000_000_000,
          __version: '2345',
          __deleted: false,
        },
      });
    }
  });

  it('makes a delete of before, marked deleted, with its version', () => {
    const read = readMessage(JSON.stringify(event('d', { id: 1, name: 'Ada' }, null, 2400)), debezium());
    expect(read).toEqual({
      kind: 'record',
      record: {
        id: 1,
        name: 'Ada',
        __op: 'd',
        __ts_ms: 1_765_000_000_000,
        __version: '2400',
        __deleted: true,
      },
    });
  });

  it('reads the { schema, payload } wrapper of the JSON converter with schemas on', () => {
    const wrapped = { schema: { type: 'struct', fields: [] }, payload: event('u', null, { id: 'a' }, 9) };
    const read = readMessage(JSON.stringify(wrapped), debezium());
    expect(read.kind === 'record' && read.record).toMatchObject({ id: 'a', __op: 'u', __version: '9' });
  });

  it('orders by source.ts_ms then the broker position when there is no lsn', () => {
    const body = JSON.stringify(event('u', null, { id: 1 }, null));
    const early = readMessage(body, debezium({ positionDigits: position(7) }));
    const late = readMessage(body, debezium({ positionDigits: position(8) }));
    expect(early.kind === 'record' && early.record.__version).toBe(`1765000000000${position(7)}`);
    expect(late.kind === 'record' && late.record.__version).toBe(`1765000000000${position(8)}`);
  });

  it('falls back to the top-level ts_ms, and takes an lsn given as text', () => {
    const noSourceTime = { op: 'c', after: { id: 1 }, ts_ms: 5, source: {} };
    const read = readMessage(JSON.stringify(noSourceTime), debezium({ positionDigits: position(1) }));
    expect(read.kind === 'record' && read.record.__version).toBe(`5${position(1)}`);
    const textLsn = { op: 'c', after: { id: 1 }, source: { lsn: '0042' } };
    const text = readMessage(JSON.stringify(textLsn), debezium());
    expect(text.kind === 'record' && text.record.__version).toBe('42');
  });

  it('reads an after written as JSON text (the MongoDB connector)', () => {
    const mongo = { op: 'c', after: JSON.stringify({ id: 3, name: 'x' }), source: { ts_ms: 1 } };
    const read = readMessage(JSON.stringify(mongo), debezium());
    expect(read.kind === 'record' && read.record).toMatchObject({ id: 3, name: 'x', __op: 'c' });
  });

  it('skips empty bodies and null payloads (tombstones)', () => {
    for (const body of [null, '', '  ', 'null', JSON.stringify({ schema: null, payload: null })]) {
      expect(readMessage(body, debezium()).kind).toBe('skip');
    }
  });

  it('rejects, saying where, what it cannot apply', () => {
    const reason = (body: string) => {
      const read = readMessage(body, debezium());
      return read.kind === 'reject' ? read.reason : `not rejected: ${read.kind}`;
    };
    const where = 'nats stream DBZ seq 7 (dbz.public.customers): ';
    expect(reason('{not json')).toMatch(new RegExp(`^${escapeRegExp(where)}the message is not JSON`));
    expect(reason(JSON.stringify({ id: 1 }))).toBe(
      `${where}not a Debezium change event (no op); set format: json for plain events`,
    );
    expect(reason(JSON.stringify(event('t', null, null)))).toBe(
      `${where}a truncate (op t), which is not applied as deletes; only c, u, r and d change records`,
    );
    expect(reason(JSON.stringify(event('m', null, null)))).toContain('op "m"');
    expect(reason(JSON.stringify(event('d', null, null)))).toBe(
      `${where}a delete (op d) without before: the key of the deleted row is unknown`,
    );
    expect(reason(JSON.stringify(event('u', { id: 1 }, null)))).toBe(`${where}op u without after`);
    expect(reason(JSON.stringify({ op: 'c', after: { id: 1 }, source: {} }))).toBe(
      `${where}the event has neither source.lsn nor ts_ms to order it by`,
    );
    const keyless = readMessage(JSON.stringify(event('c', null, { name: 'no id' })), debezium());
    expect(keyless).toMatchObject({ kind: 'reject', record: { name: 'no id', __op: 'c' } });
    expect(reason(JSON.stringify(event('c', null, { name: 'no id' })))).toMatch(
      new RegExp(`^${escapeRegExp(where)}.*id`),
    );
  });
});

describe('readMessage, plain JSON events', () => {
  const json = (over: Partial<MessageContext> = {}) =>
    debezium({ format: 'json', where: 'redis key orders entry 1-0', ...over });

  it('takes the message, or the record at its path, as it is', () => {
    const order = { id: 'o1', version: 3, deleted: false };
    expect(readMessage(JSON.stringify(order), json())).toEqual({ kind: 'record', record: order });
    expect(readMessage(JSON.stringify({ type: 'x', data: order }), json({ recordPath: 'data' }))).toEqual({
      kind: 'record',
      record: order,
    });
  });

  it('rejects what is not an object with a key, saying where', () => {
    const reason = (body: string, over: Partial<MessageContext> = {}) => {
      const read = readMessage(body, json(over));
      return read.kind === 'reject' ? read.reason : `not rejected: ${read.kind}`;
    };
    expect(reason('[1,2]')).toBe('redis key orders entry 1-0: the message is an array, not a JSON object');
    expect(reason('{"type":"x"}', { recordPath: 'data' })).toBe(
      'redis key orders entry 1-0: data of the message is missing, not a JSON object',
    );
    expect(reason('{"name":"no key"}')).toMatch(/^redis key orders entry 1-0: .*id/);
    expect(reason('nope')).toMatch(/^redis key orders entry 1-0: the message is not JSON/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
