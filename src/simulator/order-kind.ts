import { customerId } from './customer-kind.ts';
import { hashInts, Prng } from './prng.ts';
import { isoMs, pad, type RecordKind, SIM_EPOCH_MS, SIM_HISTORY_END_MS } from './record-kind.ts';

const SPAN_SEC = (SIM_HISTORY_END_MS - SIM_EPOCH_MS) / 1000;
const FLOW = ['pending', 'paid', 'shipped', 'delivered'] as const;
const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'];

/** An order as served. */
export type Order = {
  id: string;
  customer_id: string;
  status: string;
  currency: string;
  amount_cents: number;
  items: number;
  created_at: string;
  updated_at: string;
  version: number;
  deleted: boolean;
};

/** `JSON.stringify(o)` by concatenation; no field needs escaping. */
function serializeOrder(o: Order): string {
  return (
    '{"id":"' +
    o.id +
    '","customer_id":"' +
    o.customer_id +
    '","status":"' +
    o.status +
    '","currency":"' +
    o.currency +
    '","amount_cents":' +
    o.amount_cents +
    ',"items":' +
    o.items +
    ',"created_at":"' +
    o.created_at +
    '","updated_at":"' +
    o.updated_at +
    '","version":' +
    o.version +
    ',"deleted":' +
    o.deleted +
    '}'
  );
}

export function orderId(index: number): string {
  return 'ord_' + pad(index, 9);
}

/**
 * The status after `version` changes: orders walk pending -> paid -> shipped -> delivered, one step
 * per version; about one in eight is cancelled at its second version, and a delivered order may
 * later flip between `refunded` and `delivered`.
 */
export function orderStatus(seed: number, index: number, version: number): string {
  if (version >= 2 && hashInts(seed, index, 21) % 8 === 0) return 'cancelled';
  if (version <= FLOW.length) return FLOW[version - 1]!;
  return (version - FLOW.length) % 2 === 1 ? 'refunded' : 'delivered';
}

/**
 * `orders`: each belongs to a customer (`customer_id` within the customers dataset's base range)
 * and its `status` moves with its version.
 */
export function orderKind(seed: number, baseCount: number, customerCount: number): RecordKind {
  const customers = Math.max(1, customerCount);
  return {
    name: 'orders',
    keyFields: ['id'],
    idOrderIsIndexOrder: true,
    supportsDelete: true,
    supportsRegress: true,
    baseCount,
    baseUpdatedSec(index) {
      const created = hashInts(seed, index, 22) % SPAN_SEC;
      // Orders settle within ~30 days of creation.
      return Math.min(SPAN_SEC - 1, created + (hashInts(seed, index, 23) % (30 * 86400)));
    },
    baseVersion: (index) => 1 + (hashInts(seed, index, 24) % 4),
    auxForInsert: (_index, _draw, nowMs) => nowMs,
    idOf: (index) => orderId(index),
    indexOfId(id, count) {
      if (!/^ord_\d{9}$/.test(id)) return undefined;
      const index = Number(id.slice(4));
      return index < count ? index : undefined;
    },
    build(index, state) {
      const fixed = new Prng(seed, index, 3);
      const createdMs =
        index < baseCount ? SIM_EPOCH_MS + (hashInts(seed, index, 22) % SPAN_SEC) * 1000 : state.aux;
      const items = fixed.between(1, 6);
      return {
        id: orderId(index),
        customer_id: customerId(fixed.int(customers)),
        status: orderStatus(seed, index, state.version),
        currency: fixed.pick(CURRENCIES),
        amount_cents: items * fixed.between(199, 49999),
        items,
        created_at: isoMs(createdMs),
        updated_at: isoMs(state.updatedMs),
        version: state.version,
        deleted: state.status !== 'live',
      };
    },
    serialize(index, state) {
      return serializeOrder(this.build(index, state) as Order);
    },
    filter: () => null,
  };
}
