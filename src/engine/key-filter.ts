import { mix32 } from '../core/mix32.ts';

/**
 * A set of keys that answers "certainly not added" or "maybe added", in bounded memory: a
 * scalable Bloom filter. The engine adds every key a run writes into a table that was empty when
 * the run started; a key the filter has certainly not seen is then known to be absent from the
 * table, and needs no lookup (ARCHITECTURE "inserts by the fast path").
 *
 * It grows in stages: each holds twice the keys of the one before at a tighter false-positive rate:
 * about 4% at a million keys, 5% at five million (a few keys in a hundred are looked up for
 * nothing, which costs far less than the memory a tighter filter would take). Memory is 1.2-1.4
 * bytes per key, the last stage allocated ahead; past `maxBytes` (default 8 MiB, about 4 million
 * keys) it stops growing and answers "maybe" for every key, so a huge stream falls back to
 * lookups instead of growing the heap.
 */
export class KeyFilter {
  readonly #stages: BloomStage[] = [];
  readonly #maxBytes: number;
  readonly #firstCapacity: number;
  #bytes = 0;
  #full = false;

  /** `firstCapacity`: keys in the first stage (default 65,536); later stages double it. */
  constructor(options: { readonly maxBytes?: number; readonly firstCapacity?: number } = {}) {
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.#firstCapacity = options.firstCapacity ?? 65_536;
  }

  add(key: string): void {
    if (this.#full) return;
    let stage = this.#stages.at(-1);
    if (!stage || stage.count >= stage.capacity) {
      const i = this.#stages.length;
      const capacity = this.#firstCapacity * 2 ** i;
      const rate = FIRST_RATE * TIGHTENING ** i;
      const bits = Math.ceil((capacity * -Math.log(rate)) / (Math.LN2 * Math.LN2));
      const bytes = Math.ceil(bits / 32) * 4;
      if (this.#bytes + bytes > this.#maxBytes) {
        this.#full = true;
        this.#stages.length = 0;
        return;
      }
      this.#bytes += bytes;
      stage = new BloomStage(capacity, bits, Math.max(1, Math.round(-Math.log2(rate))));
      this.#stages.push(stage);
    }
    stage.add(hash1(key), hash2(key));
  }

  /** False only when `key` was certainly never added. */
  mightContain(key: string): boolean {
    if (this.#full) return true;
    if (this.#stages.length === 0) return false;
    const h1 = hash1(key);
    const h2 = hash2(key);
    for (const stage of this.#stages) if (stage.has(h1, h2)) return true;
    return false;
  }
}

/** The first stage's false-positive rate; stage i has `FIRST_RATE * TIGHTENING^i`. */
const FIRST_RATE = 0.01;
const TIGHTENING = 0.85;

/** One fixed-size Bloom filter with `hashes` probes by double hashing. */
class BloomStage {
  readonly capacity: number;
  count = 0;
  readonly #bits: Uint32Array;
  readonly #size: number;
  readonly #hashes: number;

  constructor(capacity: number, bits: number, hashes: number) {
    this.capacity = capacity;
    this.#size = bits;
    this.#bits = new Uint32Array(Math.ceil(bits / 32));
    this.#hashes = hashes;
  }

  add(h1: number, h2: number): void {
    for (let i = 0; i < this.#hashes; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.#size;
      this.#bits[at >>> 5]! |= 1 << (at & 31);
    }
    this.count++;
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < this.#hashes; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.#size;
      if ((this.#bits[at >>> 5]! & (1 << (at & 31))) === 0) return false;
    }
    return true;
  }
}

/** FNV-1a over UTF-16 code units, with a final avalanche. */
function hash1(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** A second, independent hash (different seed and multiplier), odd so probes cycle the whole stage. */
function hash2(key: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x5bd1e995) ^ (h >>> 15);
  return (mix32(h) | 1) >>> 0;
}
