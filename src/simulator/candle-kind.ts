import { hashInts } from './prng.ts';
import {
  isoMs,
  pad,
  type RecordKind,
  type RecordState,
  SIM_EPOCH_MS,
  SIM_HISTORY_END_MS,
} from './record-kind.ts';
import { SimulatorConfigError, SimulatorRequestError } from './simulator-errors.ts';

export interface CandleOptions {
  /** Number of candles generated before any mutation. */
  count: number;
  /** Default: ten USDT pairs (BTCUSDT, ETHUSDT, ...). */
  symbols?: readonly string[];
  /** Default: `['1m', '5m', '1h']`. Supported units: m, h, d. */
  intervals?: readonly string[];
}

const DEFAULT_SYMBOLS = ['ADAUSDT', 'AVAXUSDT', 'BNBUSDT', 'BTCUSDT', 'DOGEUSDT', 'DOTUSDT', 'ETHUSDT'];
const MORE_SYMBOLS = ['LINKUSDT', 'SOLUSDT', 'XRPUSDT'];
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
const SERIES_SHIFT = 2 ** 32;

/** The candles kind, with what the live feed needs to know of its series. */
export interface CandleKind extends RecordKind {
  readonly symbols: readonly string[];
  readonly intervals: readonly string[];
  /** The length of an interval (`1m` -> 60,000). */
  intervalMs(interval: string): number;
  /** The `draw` for `Dataset.insert` that appends the next candle of this series. */
  drawFor(symbol: string, interval: string): number;
}

interface Series {
  symbol: string;
  interval: string;
  intervalMs: number;
  /** The id prefix, `BTCUSDT-1m-`; series are ordered by it so base id order is index order. */
  prefix: string;
  basePrice: number;
}

function intervalMs(interval: string): number {
  const match = /^(\d+)([mhd])$/.exec(interval);
  if (!match) throw new SimulatorConfigError(`candle interval "${interval}" is not like 1m, 5m, 1h or 1d`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/**
 * `candles`: market klines keyed by `(symbol, interval, open_time)`. Base candles fill each series
 * backwards from 2024-01-01; a candle's `updated_at` is its close plus up to 3 s, truncated to the
 * second, so candles of different series often share one `updated_at`. Updates are corrections:
 * new version, adjusted close/high/low/volume. Inserts append the next candle of a random series.
 * The `id` (`BTCUSDT-1m-1704067140000`) is the keyset tie-breaker. `closed` is false only for the
 * candle the live feed (candle-feed.ts) is still forming; every generated candle is final.
 */
export function candleKind(seed: number, options: CandleOptions): CandleKind {
  const symbols = options.symbols ?? [...DEFAULT_SYMBOLS, ...MORE_SYMBOLS];
  const intervals = options.intervals ?? ['1m', '5m', '1h'];
  if (symbols.length === 0 || intervals.length === 0) {
    throw new SimulatorConfigError('candles need at least one symbol and one interval');
  }
  const series: Series[] = [];
  for (const symbol of symbols) {
    if (!/^[A-Z0-9]+$/.test(symbol))
      throw new SimulatorConfigError(`candle symbol "${symbol}" must be A-Z0-9`);
    for (const interval of intervals) {
      series.push({
        symbol,
        interval,
        intervalMs: intervalMs(interval),
        prefix: `${symbol}-${interval}-`,
        basePrice: 1 + (hashInts(seed, symbol.length, symbol.charCodeAt(0), symbol.charCodeAt(1)) % 50000),
      });
    }
  }
  series.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  const baseCount = options.count;
  const perSeries = Math.max(1, Math.ceil(baseCount / series.length));
  for (const s of series) {
    if (SIM_HISTORY_END_MS - perSeries * s.intervalMs < 0) {
      throw new SimulatorConfigError(
        `${baseCount} candles over ${series.length} series reach back before 1970 for interval ${s.interval}; add symbols or shorter intervals`,
      );
    }
  }
  const nextSlot = series.map((_, i) => Math.max(0, Math.min(perSeries, baseCount - i * perSeries)));
  const insertedById = new Map<string, number>();

  const seriesAndSlot = (index: number, state: RecordState): [number, number] =>
    index < baseCount
      ? [Math.floor(index / perSeries), index % perSeries]
      : [Math.floor(state.aux / SERIES_SHIFT), state.aux % SERIES_SHIFT];
  const openTime = (s: Series, slot: number): number =>
    SIM_HISTORY_END_MS - (perSeries - slot) * s.intervalMs;
  /** Base candles derive everything from their index; this stands in for their state. */
  const BASE_STATE: RecordState = { version: 1, updatedMs: 0, status: 'live', aux: 0 };
  const idOf = (index: number, state: RecordState): string => {
    const [si, slot] = seriesAndSlot(index, state);
    const s = series[si]!;
    return s.prefix + pad(openTime(s, slot), 13);
  };

  return {
    symbols: [...symbols],
    intervals: [...intervals],
    intervalMs,
    drawFor(symbol, interval) {
      const si = series.findIndex((s) => s.symbol === symbol && s.interval === interval);
      if (si < 0) throw new SimulatorConfigError(`no candle series ${symbol} ${interval}`);
      return (si + 0.5) / series.length;
    },
    name: 'candles',
    keyFields: ['symbol', 'interval', 'open_time'],
    idOrderIsIndexOrder: false,
    supportsDelete: false,
    supportsRegress: false,
    baseCount,
    baseUpdatedSec(index) {
      const [si, slot] = seriesAndSlot(index, BASE_STATE);
      const s = series[si]!;
      const closedMs = openTime(s, slot) + s.intervalMs + (hashInts(seed, index, 31) % 3000);
      return Math.floor((closedMs - SIM_EPOCH_MS) / 1000);
    },
    baseVersion: () => 1,
    auxForInsert(index, draw) {
      const si = Math.floor(draw * series.length);
      const slot = nextSlot[si]!;
      nextSlot[si] = slot + 1;
      const aux = si * SERIES_SHIFT + slot;
      insertedById.set(idOf(index, { ...BASE_STATE, aux }), index);
      return aux;
    },
    idOf,
    indexOfId(id, count) {
      const inserted = insertedById.get(id);
      if (inserted !== undefined) return inserted;
      const cut = id.lastIndexOf('-') + 1;
      const si = series.findIndex((s) => s.prefix === id.slice(0, cut));
      if (si < 0 || !/^\d{13}$/.test(id.slice(cut))) return undefined;
      const s = series[si]!;
      const slot = perSeries - (SIM_HISTORY_END_MS - Number(id.slice(cut))) / s.intervalMs;
      const index = si * perSeries + slot;
      return Number.isInteger(slot) && slot >= 0 && slot < perSeries && index < Math.min(count, baseCount)
        ? index
        : undefined;
    },
    build(index, state) {
      const [si, slot] = seriesAndSlot(index, state);
      const s = series[si]!;
      const open = openTime(s, slot);
      const wave = 1 + 0.3 * Math.sin(slot / 977 + si);
      const noise = (n: number): number => (hashInts(seed, si, slot, n) % 2000) / 100000;
      const o = s.basePrice * wave * (1 + noise(1));
      // Corrections (versions above 1) move the close and volume by a fraction of a percent.
      const fix = state.version > 1 ? (hashInts(seed, index, state.version, 32) % 200) / 100000 : 0;
      const c = s.basePrice * wave * (1 + noise(2) + fix);
      const high = Math.max(o, c) * (1 + noise(3));
      const low = Math.min(o, c) * (1 - noise(4));
      return {
        id: s.prefix + pad(open, 13),
        symbol: s.symbol,
        interval: s.interval,
        open_time: open,
        close_time: open + s.intervalMs - 1,
        open: o.toFixed(2),
        high: high.toFixed(2),
        low: low.toFixed(2),
        close: c.toFixed(2),
        volume: ((1 + (hashInts(seed, si, slot, 5) % 100000) / 100) * (1 + fix * 10)).toFixed(3),
        trades: 1 + (hashInts(seed, si, slot, 6) % 5000),
        closed: state.open !== true,
        updated_at: isoMs(state.updatedMs),
        version: state.version,
      };
    },
    serialize(index, state) {
      // Candle fields are ids, numbers and decimal strings: nothing to escape, so stringify is enough here.
      return JSON.stringify(this.build(index, state));
    },
    filter(query) {
      const symbol = query.get('symbol');
      const interval = query.get('interval');
      if (symbol === null && interval === null) return null;
      const wanted = new Set<number>();
      series.forEach((s, i) => {
        if ((symbol === null || s.symbol === symbol) && (interval === null || s.interval === interval))
          wanted.add(i);
      });
      if (wanted.size === 0) {
        throw new SimulatorRequestError(
          `no candle series for symbol=${symbol ?? '*'} interval=${interval ?? '*'}`,
        );
      }
      return (index, state) => wanted.has(seriesAndSlot(index, state)[0]);
    },
  };
}
