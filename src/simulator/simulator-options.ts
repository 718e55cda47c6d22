import { z } from 'zod';
import type { WsFeedPatch } from './candle-feed.ts';
import type { CandleOptions } from './candle-kind.ts';
import type { CrmPatch } from './crm-options.ts';
import { SimulatorConfigError } from './simulator-errors.ts';

const share = z.number().min(0).max(1);
const ms = z.number().int().min(0);

/**
 * Fault knobs. Every `share` is the probability that one API request (`/v1/...`) gets that fault,
 * drawn from a PRNG seeded by the simulator seed, so the same seed and the same request sequence
 * give the same faults. Shares are exclusive and must add up to at most 1. All default to off.
 */
export const faultConfigSchema = z.strictObject({
  /** Share of requests answered 429 with Retry-After and X-RateLimit-* headers. */
  rateLimit: share.default(0),
  /** The Retry-After of injected 429s, in seconds. Default 1. */
  retryAfterSeconds: z.number().int().min(0).default(1),
  /** Share of injected 429s whose Retry-After is an HTTP-date rather than seconds. Default 0.5. */
  retryAfterDateShare: share.default(0.5),
  /** Share of requests that start a burst of 500/502/503 answers. */
  serverError: share.default(0),
  /** A 5xx burst is this many consecutive requests, drawn uniformly in [min, max]. Default 2..4. */
  serverErrorBurstMin: z.number().int().min(1).default(2),
  serverErrorBurstMax: z.number().int().min(1).default(4),
  /** Share of requests that never get an answer; the socket is destroyed after `hangMs`. */
  hang: share.default(0),
  /** How long a hung request is held before its socket is destroyed. Default 30 s. */
  hangMs: ms.default(30_000),
  /** Share of requests whose connection is reset after part of the body was sent. */
  reset: share.default(0),
  /** Share of 200 answers whose JSON body is cut short (the HTTP response itself completes). */
  truncated: share.default(0),
  /** Share of 200 answers whose body is not JSON (an HTML error page, an XSSI prefix, trailing junk). */
  malformed: share.default(0),
  /** Share of requests answered only after `slowMs`. */
  slow: share.default(0),
  /** Delay of slow answers. Default 1,000 ms. */
  slowMs: ms.default(1000),
  /**
   * A real per-client token bucket (client = API key or bearer token, else remote address): at
   * most `capacity` requests at once, refilled at `refillPerSecond`. Null (default) = unlimited.
   */
  clientLimit: z
    .strictObject({ capacity: z.number().int().min(1), refillPerSecond: z.number().positive() })
    .nullable()
    .default(null),
});
export type FaultConfig = z.infer<typeof faultConfigSchema>;
export type FaultPatch = Partial<FaultConfig>;

/** Relative weights of mutation kinds; a kind with weight 0 never happens. */
export const mutationMixSchema = z.strictObject({
  insert: z.number().min(0).default(3),
  update: z.number().min(0).default(4),
  backdate: z.number().min(0).default(1),
  burst: z.number().min(0).default(0.2),
  softDelete: z.number().min(0).default(1),
  hardDelete: z.number().min(0).default(1),
  /** A record "restored from an older backup": a lower version, that version's content, `updated_at` = now. Off by default. */
  regress: z.number().min(0).default(0),
});
export type MutationMix = z.infer<typeof mutationMixSchema>;
export type MutationKind = keyof MutationMix;

export const mutationConfigSchema = z.strictObject({
  /** Background mutations per second while the server runs (a burst counts as one). Default 0. */
  ratePerSecond: z.number().min(0).default(0),
  mix: mutationMixSchema.default(mutationMixSchema.parse({})),
  /** Records that one burst gives the identical `updated_at`. Default 2,500 (spans pages of 1,000). */
  burstSize: z.number().int().min(1).default(2500),
  /** A backdated update lands up to this far behind the newest `updated_at`. Default 1 h. */
  backdateMaxMs: z.number().int().min(1).default(3_600_000),
  /** Datasets that mutate; default all. */
  datasets: z.array(z.string()).nullable().default(null),
  /** How often background mutations are applied. Default 100 ms. */
  tickMs: z.number().int().min(10).default(100),
});
export type MutationConfig = z.infer<typeof mutationConfigSchema>;
export type MutationPatch = Partial<Omit<MutationConfig, 'mix'>> & { mix?: Partial<MutationMix> };

export interface DatasetSizes {
  /** Number of customers; absent = the dataset is not served. */
  customers?: number;
  orders?: number;
  candles?: number | CandleOptions;
}

/** Credentials the API demands; when any is set, requests without a valid one get 401. */
export interface AuthOptions {
  /** Accepted `Authorization: Bearer <token>` values. */
  bearerTokens?: readonly string[];
  /** Accepted API keys, in the `X-API-Key` header or the `api_key` query parameter. */
  apiKeys?: readonly string[];
}

export interface SimulatorOptions {
  /** Seeds data, mutations and faults. Default 1. */
  seed?: number;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default: 1,000 customers, 1,000 orders, 1,000 candles. */
  datasets?: DatasetSizes;
  faults?: FaultPatch;
  mutations?: MutationPatch;
  /** The largest `limit`/`per_page` honoured; larger values are clamped. Default 1,000. */
  maxPageSize?: number;
  /** Page size when the request names none. Default 100. */
  defaultPageSize?: number;
  auth?: AuthOptions;
  /** The CRM at `/crm/...` that destinations push into (always served; these are its settings). */
  crm?: CrmPatch;
  /** The live candle feed at `/ws` (served with the `candles` dataset); misbehaviour is off by default. */
  ws?: WsFeedPatch;
  /** The time source for `updated_at` of mutations, in epoch ms. Default `Date.now`. */
  clock?: () => number;
}

/** Validates and completes a fault patch over the current config. */
export function mergeFaults(current: FaultConfig, patch: unknown): FaultConfig {
  const result = faultConfigSchema.safeParse({ ...current, ...(patch as object) });
  if (!result.success) throw new SimulatorConfigError(`invalid faults: ${z.prettifyError(result.error)}`);
  const f = result.data;
  const total = f.rateLimit + f.serverError + f.hang + f.reset + f.truncated + f.malformed + f.slow;
  if (total > 1 + 1e-9)
    throw new SimulatorConfigError(`fault shares add up to ${total}; they must be at most 1`);
  if (f.serverErrorBurstMax < f.serverErrorBurstMin) {
    throw new SimulatorConfigError('serverErrorBurstMax must be at least serverErrorBurstMin');
  }
  return f;
}

/** Validates and completes a mutation patch over the current config. */
export function mergeMutations(current: MutationConfig, patch: unknown): MutationConfig {
  const p = (patch ?? {}) as { mix?: object };
  const merged = { ...current, ...(p as object), mix: { ...current.mix, ...(p.mix ?? {}) } };
  const result = mutationConfigSchema.safeParse(merged);
  if (!result.success) throw new SimulatorConfigError(`invalid mutations: ${z.prettifyError(result.error)}`);
  return result.data;
}

export const DEFAULT_FAULTS: FaultConfig = faultConfigSchema.parse({});
export const DEFAULT_MUTATIONS: MutationConfig = mutationConfigSchema.parse({});
