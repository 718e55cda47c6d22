import { mix32 } from '../core/mix32.ts';
import { hash3, hash4 } from './prng.ts';
import { isoMs, type RecordKind, type RecordState, SIM_EPOCH_MS, SIM_HISTORY_END_MS } from './record-kind.ts';

const FIRST = [
  'Ana',
  'Ben',
  'Chloe',
  'Diego',
  'Emma',
  'Farid',
  'Grace',
  'Hugo',
  'Ines',
  'Jonas',
  'Keiko',
  'Liam',
];
const LAST = [
  'Garcia',
  'Smith',
  'Muller',
  'Rossi',
  'Dubois',
  'Silva',
  'Kowalski',
  'Nguyen',
  'Okafor',
  'Larsen',
];
const FIRST_LC = FIRST.map((s) => s.toLowerCase());
const LAST_LC = LAST.map((s) => s.toLowerCase());
const STREETS = [
  'Oak Street',
  'Rua Augusta',
  'Hauptstrasse',
  'Via Roma',
  'Rue de Rivoli',
  'Calle Mayor',
  'Elm Road',
];
const CITIES = ['Lisbon', 'Berlin', 'Rome', 'Paris', 'Madrid', 'Austin', 'Oslo'];
const COUNTRIES = ['PT', 'DE', 'IT', 'FR', 'ES', 'US', 'NO'];
const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const SPAN_SEC = (SIM_HISTORY_END_MS - SIM_EPOCH_MS) / 1000;
const ZEROS = '000000000';

// Constant stretches of the JSON text, precomputed so a record is ~16 concatenations, not ~35:
// fewer pieces also make the string cheaper to copy into the page bytes.
const EMAIL_HEAD = FIRST.flatMap((_, f) => LAST.map((_, l) => `","email":"${FIRST_LC[f]}.${LAST_LC[l]}`));
const NAME_TAIL = FIRST.flatMap((first) =>
  LAST.map((last) => `@example.com","name":"${first} ${last}","address":{"line1":"`),
);
const STREET_CITY = STREETS.flatMap((street) =>
  CITIES.map((city) => ` ${street}","city":"${city}","postal_code":"`),
);
const COUNTRY_PHONE = COUNTRIES.map((country) => `","country":"${country}"},"phone":"+1-555-`);
const PLAN_CREATED = PLANS.map((plan) => `","plan":"${plan}","created_at":"`);

/** A customer as served. */
export type Customer = {
  id: string;
  email: string;
  name: string;
  address: { line1: string; city: string; postal_code: string; country: string };
  phone: string;
  plan: string;
  created_at: string;
  updated_at: string;
  version: number;
  deleted: boolean;
};

/** Zero-padding without `padStart` (hot path); `width` at most 9. */
function zpad(value: number, width: number): string {
  const s = '' + value;
  return s.length >= width ? s : ZEROS.slice(0, width - s.length) + s;
}

/** `cus_` and nine digits, so ids compare as strings in index order. */
export function customerId(index: number): string {
  return 'cus_' + zpad(index, 9);
}

/**
 * `customers`: ~300-byte people with a nested address. Name and email are fixed per record; the
 * address, phone and plan are drawn again for every version, so an update changes the content hash.
 * All text is ASCII (the server sends list pages as latin1 bytes).
 */
export function customerKind(seed: number, baseCount: number): RecordKind {
  const createdSec = (index: number): number => hash3(seed, index, 11) % SPAN_SEC;
  /** The served JSON of `build`, written by hand: serving pages is the simulator's hot path. */
  const serialize = (index: number, state: RecordState): string => {
    const h1 = hash3(seed, index, 1);
    const h2 = hash4(seed, index, state.version, 2);
    const h3 = mix32(h2 ^ 0x5bd1e995);
    const f = h1 % 12;
    const l = Math.floor(h1 / 12) % 10;
    const c = h2 % 7;
    const createdMs = index < baseCount ? SIM_EPOCH_MS + createdSec(index) * 1000 : state.aux;
    const fl = f * 10 + l;
    const p = (h2 >>> 20) & 3;
    return (
      '{"id":"cus_' +
      zpad(index, 9) +
      EMAIL_HEAD[fl] +
      index +
      NAME_TAIL[fl] +
      (1 + ((h2 >>> 6) % 9999)) +
      STREET_CITY[((h2 >>> 3) % 7) * 7 + c] +
      zpad(h3 % 100000, 5) +
      COUNTRY_PHONE[c] +
      zpad((h3 >>> 17) % 10000, 4) +
      PLAN_CREATED[p] +
      isoMs(createdMs) +
      '","updated_at":"' +
      isoMs(state.updatedMs) +
      '","version":' +
      state.version +
      (state.status === 'live' ? ',"deleted":false}' : ',"deleted":true}')
    );
  };
  return {
    name: 'customers',
    keyFields: ['id'],
    idOrderIsIndexOrder: true,
    supportsDelete: true,
    supportsRegress: true,
    baseCount,
    baseUpdatedSec(index) {
      const created = createdSec(index);
      return created + (hash3(seed, index, 12) % (SPAN_SEC - created));
    },
    baseVersion: (index) => 1 + (hash3(seed, index, 13) % 4),
    // Inserted customers remember their creation time.
    auxForInsert: (_index, _draw, nowMs) => nowMs,
    idOf: (index) => customerId(index),
    indexOfId(id, count) {
      if (!/^cus_\d{9}$/.test(id)) return undefined;
      const index = Number(id.slice(4));
      return index < count ? index : undefined;
    },
    build: (index, state): Customer => JSON.parse(serialize(index, state)) as Customer,
    serialize,
    filter: () => null,
  };
}
