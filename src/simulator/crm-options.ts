import { z } from 'zod';
import { SimulatorConfigError } from './simulator-errors.ts';

const share = z.number().min(0).max(1);

/**
 * Faults of the CRM (`/crm/...`), drawn per request from the CRM's own PRNG stream (seeded by the
 * simulator seed), so the pulled API's fault sequence does not shift when a test also pushes.
 * Shares are exclusive, add up to at most 1, and default to 0.
 */
export const crmFaultsSchema = z.strictObject({
  /** Share answered 500 or 503 before anything is done. */
  serverError: share.default(0),
  /** Share answered 429 with `Retry-After: 1` before anything is done. */
  rateLimit: share.default(0),
  /** Share whose connection is destroyed before anything is done. */
  reset: share.default(0),
  /**
   * Share of writes that take effect and then lose their answer (socket destroyed): the case a
   * pushing client cannot tell from a failure, and the reason it needs idempotency or a find.
   */
  lostResponse: share.default(0),
  /** Share of writes that take effect and are then answered 504, as a gateway timing out would. */
  lostResponse504: share.default(0),
  /** Share answered only after `slowMs` (the work is done at once; only the answer waits). */
  slow: share.default(0),
  /** Delay of slow answers. Default 1,000 ms. */
  slowMs: z.number().int().min(0).default(1000),
});
export type CrmFaults = z.infer<typeof crmFaultsSchema>;

/** Every CRM fault off (a `faults` patch that ends a faulty phase). */
export const CRM_FAULTS_OFF = {
  serverError: 0,
  rateLimit: 0,
  reset: 0,
  lostResponse: 0,
  lostResponse504: 0,
  slow: 0,
} as const satisfies Partial<CrmFaults>;

/** Contacts the CRM refuses with 422, as a real CRM refuses bounced or blocked addresses. */
export const crmRejectSchema = z.strictObject({
  emails: z.array(z.string()).default([]),
  externalIds: z.array(z.string()).default([]),
});

export const crmConfigSchema = z.strictObject({
  /** When set, every `/crm` request needs `Authorization: Bearer <token>` (401 otherwise). */
  token: z.string().min(1).nullable().default(null),
  /**
   * Refuse a contact whose `email` is not a string (422), on create, update and batch. Default
   * true; false accepts contacts without one (the reject set still applies to the emails given).
   */
  requireEmail: z.boolean().default(true),
  /** Honour `Idempotency-Key` on `POST /crm/contacts`. Default true. */
  idempotency: z.boolean().default(true),
  /** A real token bucket per credential (bearer token, else remote address); null = unlimited. */
  rateLimit: z
    .strictObject({ capacity: z.number().int().min(1), refillPerSecond: z.number().positive() })
    .nullable()
    .default(null),
  /**
   * Service time: every `/crm` answer is sent no sooner than this many ms after its request
   * arrived (the work is done at once; other requests are not held up), so requests in flight
   * matter as against a real API. Default 0.
   */
  latencyMs: z.number().int().min(0).default(0),
  /** Most inputs one `POST /crm/contacts/batch` may carry (400 above). Default 100. */
  maxBatch: z.number().int().min(1).default(100),
  faults: crmFaultsSchema.default(crmFaultsSchema.parse({})),
  reject: crmRejectSchema.default(crmRejectSchema.parse({})),
});
export type CrmConfig = z.infer<typeof crmConfigSchema>;

/** A change of CRM settings: `faults` merges by knob, `reject` replaces the whole reject set. */
export type CrmPatch = Partial<Omit<CrmConfig, 'faults' | 'reject'>> & {
  faults?: Partial<CrmFaults>;
  reject?: { emails?: string[]; externalIds?: string[] };
};

/** Validates and completes a CRM patch over the current settings. Throws `SimulatorConfigError`. */
export function mergeCrm(current: CrmConfig, patch: unknown): CrmConfig {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new SimulatorConfigError('invalid crm: settings must be a JSON object');
  }
  const p = patch as { faults?: unknown };
  const faults =
    p.faults !== null && typeof p.faults === 'object' ? { ...current.faults, ...p.faults } : p.faults;
  const merged = { ...current, ...patch, ...('faults' in p ? { faults } : {}) };
  const result = crmConfigSchema.safeParse(merged);
  if (!result.success) throw new SimulatorConfigError(`invalid crm: ${z.prettifyError(result.error)}`);
  const f = result.data.faults;
  const total = f.serverError + f.rateLimit + f.reset + f.lostResponse + f.lostResponse504 + f.slow;
  if (total > 1 + 1e-9) {
    throw new SimulatorConfigError(`crm fault shares add up to ${total}; they must be at most 1`);
  }
  return result.data;
}

/**
 * Injected answers (`Crm.failNext`, `POST /_admin/crm/fail-next`): the next `times` `/crm` requests
 * that pass auth are answered `status` before anything else is done.
 */
export const crmFailNextSchema = z.strictObject({
  /** An error status, 400 to 599. */
  status: z.number().int().min(400).max(599),
  /** How many requests in a row get it. Default 1. */
  times: z.number().int().min(1).default(1),
  /** Sent as `Retry-After`: seconds, or the header's text as is (an HTTP date). */
  retryAfter: z.union([z.number().int().min(0), z.string().min(1)]).optional(),
});
export type CrmFailNext = z.input<typeof crmFailNextSchema>;

/** Validates an injected answer. Throws `SimulatorConfigError`. */
export function parseFailNext(value: unknown): z.infer<typeof crmFailNextSchema> {
  const result = crmFailNextSchema.safeParse(value);
  if (!result.success)
    throw new SimulatorConfigError(`invalid crm fail-next: ${z.prettifyError(result.error)}`);
  return result.data;
}

export const DEFAULT_CRM: CrmConfig = crmConfigSchema.parse({});
