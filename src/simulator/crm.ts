import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClientRateLimiter, rateLimitHeaders } from './client-rate-limiter.ts';
import {
  type CrmConfig,
  type CrmFailNext,
  type CrmPatch,
  DEFAULT_CRM,
  mergeCrm,
  parseFailNext,
} from './crm-options.ts';
import { Prng } from './prng.ts';
import { CrmRequestError } from './simulator-errors.ts';

/** A contact as the CRM keeps it: `id`, the client's fields, `created_at`, `updated_at`. */
export type CrmContact = { id: string; created_at: string; updated_at: string } & Record<string, unknown>;

export type CrmFaultKind =
  | 'serverError'
  | 'rateLimit'
  | 'reset'
  | 'lostResponse'
  | 'lostResponse504'
  | 'slow';

export interface CrmStats {
  /** Requests by `METHOD /route`, e.g. `POST /crm/contacts`, `PATCH /crm/contacts/:id`. */
  requests: Record<string, number>;
  /** Answers by status (resets and lost responses are not answers and are not counted). */
  statuses: Record<string, number>;
  /**
   * Injected faults by kind; `clientLimit` counts real token-bucket rejections, `unauthorized` 401s,
   * `injected` the answers of `failNext`.
   */
  faults: Record<CrmFaultKind | 'clientLimit' | 'unauthorized' | 'injected', number>;
  creates: number;
  updates: number;
  deletes: number;
  /** `POST /crm/contacts` answered from an `Idempotency-Key` seen before (nothing created). */
  idempotentReplays: number;
  /** The most `/crm` requests that arrived within any sliding 1-second window. */
  maxRequestsPerSecond: number;
}

/** One `/crm` request as the request log keeps it (never the token itself). */
export interface CrmRequestLogEntry {
  method: string;
  /** Path with query, e.g. `/crm/contacts?external_id=cus_1`. */
  path: string;
  /** The `Idempotency-Key` header, when one was sent. */
  idempotencyKey?: string;
  /**
   * `absent`: no `Authorization` header; `valid`: one that passes auth (any, when no token is set);
   * `invalid`: one answered 401.
   */
  authorization: 'absent' | 'valid' | 'invalid';
}

/** How many requests the request log keeps (the latest). */
export const CRM_REQUEST_LOG_SIZE = 1000;

/** The largest request body accepted (413 above). */
const MAX_BODY = 64 * 1024;
/** Fields the server owns: a client can neither set nor overwrite them. */
const OWNED = new Set(['id', 'created_at', 'updated_at']);
/** Salt of the CRM's fault stream, so its draws are independent of the pulled API's. */
const FAULT_STREAM = 0x63726d;

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

function emptyStats(): CrmStats {
  return {
    requests: {},
    statuses: {},
    faults: {
      serverError: 0,
      rateLimit: 0,
      reset: 0,
      lostResponse: 0,
      lostResponse504: 0,
      slow: 0,
      clientLimit: 0,
      unauthorized: 0,
      injected: 0,
    },
    creates: 0,
    updates: 0,
    deletes: 0,
    idempotentReplays: 0,
    maxRequestsPerSecond: 0,
  };
}

function validation(message: string): CrmRequestError {
  return new CrmRequestError(422, 'validation', message);
}

/** The client's fields without the ones the server owns. */
function clientFields(body: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) if (!OWNED.has(name)) fields[name] = value;
  return fields;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new CrmRequestError(413, 'too_large', 'the body is larger than 64 KiB');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CrmRequestError(400, 'invalid_json', 'the body is not JSON');
  }
}

/**
 * A CRM that destinations push contacts into (`/crm/...` on the simulator's port): creates with
 * `Idempotency-Key`, a find by `external_id`, PATCH/PUT/DELETE by id and a bulk upsert. It has the
 * failures a pushing client must survive: 401, a real per-credential token bucket, 422 for
 * invalid or rejected contacts, and seeded faults, among them writes that take effect but whose
 * answer is lost. `contacts()` is the ground truth a checker compares the pushed records with.
 */
export class Crm {
  private config: CrmConfig;
  private readonly seed: number;
  private prng: Prng;
  private readonly limiter = new ClientRateLimiter();
  private readonly store = new Map<string, CrmContact>();
  /** external_id -> ids of the contacts that carry it, for the find and the batch upsert. */
  private readonly byExternalId = new Map<string, Set<string>>();
  /** Idempotency-Key -> the contact the first request with it created. */
  private readonly keys = new Map<string, CrmContact>();
  private nextId = 1;
  private counters = emptyStats();
  /** Arrival times (ms) of the /crm requests of the last second, oldest first. */
  private arrivals: number[] = [];
  /** The last `CRM_REQUEST_LOG_SIZE` requests, oldest first. */
  private log: CrmRequestLogEntry[] = [];
  /** Queued injected answers (`failNext`), the next first. */
  private injections: { status: number; times: number; retryAfter?: string }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly clock: () => number;

  constructor(seed: number, patch: CrmPatch = {}, clock: () => number = Date.now) {
    this.seed = seed;
    this.clock = clock;
    this.config = mergeCrm(DEFAULT_CRM, patch);
    this.prng = new Prng(seed, FAULT_STREAM);
    this.limiter.configure(this.config.rateLimit);
  }

  /** Every live contact, in id order (copies). */
  contacts(): CrmContact[] {
    return [...this.store.values()].map((c) => structuredClone(c));
  }

  stats(): CrmStats {
    return structuredClone(this.counters);
  }

  /** The last 1,000 `/crm` requests, oldest first (copies). */
  requests(): CrmRequestLogEntry[] {
    return this.log.map((entry) => ({ ...entry }));
  }

  /** Empties the request log only (contacts, keys and stats stay). */
  clearRequests(): void {
    this.log = [];
  }

  /**
   * The next `times` (default 1) `/crm` requests that pass auth are answered `status` (with
   * `Retry-After` when given) before anything else is done: no token taken, no fault drawn, no body
   * read, nothing written. Calls queue up in order. Throws `SimulatorConfigError`.
   */
  failNext(answer: CrmFailNext): void {
    const { status, times, retryAfter } = parseFailNext(answer);
    this.injections.push({
      status,
      times,
      ...(retryAfter === undefined ? {} : { retryAfter: String(retryAfter) }),
    });
  }

  get settings(): CrmConfig {
    return structuredClone(this.config);
  }

  /** Changes settings at run time; unnamed ones keep their values. Throws `SimulatorConfigError`. */
  configure(patch: CrmPatch): CrmConfig {
    const next = mergeCrm(this.config, patch);
    if (JSON.stringify(next.rateLimit) !== JSON.stringify(this.config.rateLimit)) {
      this.limiter.configure(next.rateLimit);
    }
    this.config = next;
    return this.settings;
  }

  /**
   * Empties contacts, idempotency keys, stats, the request log, queued injected answers and
   * rate-limit buckets, restarts ids at `c_1` and re-seeds the fault stream, so a run after a reset
   * sees the same faults as a fresh simulator.
   */
  reset(): void {
    this.log = [];
    this.injections = [];
    this.store.clear();
    this.byExternalId.clear();
    this.keys.clear();
    this.nextId = 1;
    this.counters = emptyStats();
    this.arrivals = [];
    this.prng = new Prng(this.seed, FAULT_STREAM);
    this.limiter.configure(this.config.rateLimit);
  }

  /** Drops pending slow and delayed answers (the server closes their sockets). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Serves one `/crm...` request: auth, injected answers, rate limit, fault draw, body, then the route. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const route =
      parts[1] !== 'contacts' || parts.length > 3
        ? url.pathname
        : parts.length === 2
          ? '/crm/contacts'
          : parts[2] === 'batch'
            ? '/crm/contacts/batch'
            : '/crm/contacts/:id';
    this.count(this.counters.requests, `${method} ${route}`);
    const arrivedAt = performance.now();
    this.arrived(arrivedAt);
    const reply = (r: Reply): void => this.answer(res, r, arrivedAt);

    const token = this.config.token;
    const authorization = req.headers.authorization;
    const authorized = token === null || authorization === `Bearer ${token}`;
    const idempotencyKey = req.headers['idempotency-key'];
    this.logRequest({
      method,
      path: `${url.pathname}${url.search}`,
      ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
      authorization: authorization === undefined ? 'absent' : authorized ? 'valid' : 'invalid',
    });
    if (!authorized) {
      this.counters.faults.unauthorized++;
      return reply({
        status: 401,
        body: { error: { code: 'unauthorized', message: 'a valid bearer token is required' } },
        headers: { 'WWW-Authenticate': 'Bearer realm="syncline-crm"' },
      });
    }
    const injected = this.injections[0];
    if (injected !== undefined) {
      if (--injected.times === 0) this.injections.shift();
      this.counters.faults.injected++;
      return reply({
        status: injected.status,
        body: { error: { code: 'injected', message: `an injected ${injected.status}` } },
        headers: injected.retryAfter === undefined ? {} : { 'Retry-After': injected.retryAfter },
      });
    }
    const now = Date.now();
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const verdict = this.limiter.take(bearer ?? req.socket.remoteAddress ?? 'unknown', now);
    const rate = rateLimitHeaders(verdict);
    if (!verdict.allowed) {
      this.counters.faults.clientLimit++;
      return reply({
        status: 429,
        body: { error: { code: 'rate_limited', message: 'rate limit exceeded' } },
        headers: { ...rate, 'Retry-After': String(verdict.retryAfterSec) },
      });
    }
    const fault = this.decide();
    if (fault !== null) this.counters.faults[fault.kind]++;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'rateLimit') {
      return reply({
        status: 429,
        body: { error: { code: 'rate_limited', message: 'too many requests' } },
        headers: {
          ...rate,
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Math.ceil(now / 1000) + 1),
          'Retry-After': '1',
        },
      });
    }
    if (fault?.kind === 'serverError') {
      const message = fault.status === 500 ? 'internal error' : 'service unavailable';
      return reply({
        status: fault.status,
        body: { error: { code: 'server_error', message } },
        headers: rate,
      });
    }

    let answer: Reply;
    try {
      answer = this.route(method, route, parts[2], url, req, await readBody(req));
    } catch (error) {
      if (!(error instanceof CrmRequestError)) throw error;
      const headers = error.status === 413 ? { ...rate, Connection: 'close' } : rate;
      answer = {
        status: error.status,
        body: { error: { code: error.code, message: error.message } },
        headers,
      };
    }
    answer.headers = { ...rate, ...answer.headers };
    const write = method !== 'GET' && method !== 'HEAD';
    if (fault?.kind === 'lostResponse') {
      // The write (if any) has taken effect; its answer never arrives.
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'lostResponse504') {
      return reply({
        status: 504,
        body: {
          error: {
            code: 'gateway_timeout',
            message: write ? 'the upstream timed out' : 'the upstream timed out (nothing was done)',
          },
        },
        headers: rate,
      });
    }
    if (fault?.kind === 'slow') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!res.destroyed) reply(answer);
      }, this.config.faults.slowMs);
      this.timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        this.timers.delete(timer);
      });
      return;
    }
    reply(answer);
  }

  private route(
    method: string,
    route: string,
    sub: string | undefined,
    url: URL,
    req: IncomingMessage,
    body: unknown,
  ): Reply {
    if (route === '/crm/contacts') {
      if (method === 'GET') {
        const externalId = url.searchParams.get('external_id');
        const results =
          externalId === null
            ? this.contacts()
            : [...(this.byExternalId.get(externalId) ?? [])].map((id) => this.store.get(id)!);
        return { status: 200, body: { results } };
      }
      if (method === 'POST') return this.create(req, body);
      return this.notAllowed(method, 'GET, POST');
    }
    if (route === '/crm/contacts/batch') {
      if (method === 'POST') return this.batch(body);
      return this.notAllowed(method, 'POST');
    }
    if (route === '/crm/contacts/:id') {
      const id = decodeURIComponent(sub!);
      if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(method)) {
        return this.notAllowed(method, 'GET, PATCH, PUT, DELETE');
      }
      const contact = this.store.get(id);
      if (contact === undefined) throw new CrmRequestError(404, 'not_found', `no contact ${id}`);
      if (method === 'GET') return { status: 200, body: contact };
      if (method === 'DELETE') {
        this.unindex(contact);
        this.store.delete(id);
        this.counters.deletes++;
        return { status: 204 };
      }
      const fields = clientFields(this.object(body));
      const next = method === 'PATCH' ? { ...contact, ...fields } : { id, ...fields };
      return { status: 200, body: this.update(contact, next) };
    }
    throw new CrmRequestError(404, 'not_found', `no route ${url.pathname}`);
  }

  private notAllowed(method: string, allow: string): Reply {
    return {
      status: 405,
      body: { error: { code: 'method_not_allowed', message: `${method} is not allowed here` } },
      headers: { Allow: allow },
    };
  }

  private object(body: unknown): Record<string, unknown> {
    if (!isObject(body)) throw new CrmRequestError(400, 'invalid_request', 'the body must be a JSON object');
    return body;
  }

  /** The 422s: an email is required (while `requireEmail`); contacts in the reject set are refused. */
  private validate(fields: Record<string, unknown>): void {
    if (this.config.requireEmail && typeof fields.email !== 'string') throw validation('email is required');
    if (typeof fields.email === 'string' && this.config.reject.emails.includes(fields.email)) {
      throw validation(`email ${fields.email} is rejected`);
    }
    const externalId = fields.external_id;
    if (typeof externalId === 'string' && this.config.reject.externalIds.includes(externalId)) {
      throw validation(`external_id ${externalId} is rejected`);
    }
  }

  private create(req: IncomingMessage, body: unknown): Reply {
    const header = req.headers['idempotency-key'];
    const key = this.config.idempotency && typeof header === 'string' && header !== '' ? header : null;
    const first = key === null ? undefined : this.keys.get(key);
    if (first !== undefined) {
      this.counters.idempotentReplays++;
      return { status: 200, body: this.store.get(first.id) ?? first };
    }
    const contact = this.insert(this.object(body));
    if (key !== null) this.keys.set(key, structuredClone(contact));
    return { status: 201, body: contact };
  }

  private insert(fields: Record<string, unknown>): CrmContact {
    const own = clientFields(fields);
    this.validate(own);
    const now = new Date(this.clock()).toISOString();
    const contact: CrmContact = { id: `c_${this.nextId++}`, ...own, created_at: now, updated_at: now };
    this.put(contact);
    this.counters.creates++;
    return contact;
  }

  /** Replaces `contact` by `next` (validated), keeping id and created_at, stamping updated_at. */
  private update(contact: CrmContact, next: Record<string, unknown>): CrmContact {
    const own = clientFields(next);
    this.validate(own);
    const updated: CrmContact = {
      id: contact.id,
      ...own,
      created_at: contact.created_at,
      updated_at: new Date(this.clock()).toISOString(),
    };
    // Same Map key: the contact keeps its place in id order.
    this.unindex(contact);
    this.put(updated);
    this.counters.updates++;
    return updated;
  }

  /** Bulk upsert by external_id; one result per input, in input order. */
  private batch(body: unknown): Reply {
    const inputs = this.object(body).inputs;
    if (!Array.isArray(inputs)) throw new CrmRequestError(400, 'invalid_request', 'inputs must be an array');
    if (inputs.length > this.config.maxBatch) {
      throw new CrmRequestError(
        400,
        'invalid_request',
        `a batch holds at most ${this.config.maxBatch} inputs, got ${inputs.length}`,
      );
    }
    const results = inputs.map((input: unknown) => {
      const externalId = isObject(input) ? input.external_id : undefined;
      try {
        if (!isObject(input)) throw validation('an input must be a JSON object');
        if (typeof externalId !== 'string' || externalId === '') throw validation('external_id is required');
        const existing = this.byExternalId.get(externalId)?.values().next().value;
        if (existing === undefined) {
          const created = this.insert(input);
          return { id: created.id, external_id: externalId, status: 'created' };
        }
        const contact = this.store.get(existing)!;
        this.update(contact, { ...contact, ...clientFields(input) });
        return { id: contact.id, external_id: externalId, status: 'updated' };
      } catch (error) {
        if (!(error instanceof CrmRequestError)) throw error;
        return {
          external_id: typeof externalId === 'string' ? externalId : null,
          error: { code: error.code, message: error.message },
        };
      }
    });
    return { status: 200, body: { results } };
  }

  private put(contact: CrmContact): void {
    this.store.set(contact.id, contact);
    const externalId = contact.external_id;
    if (typeof externalId !== 'string') return;
    const ids = this.byExternalId.get(externalId) ?? new Set<string>();
    ids.add(contact.id);
    this.byExternalId.set(externalId, ids);
  }

  /** Drops a contact from the external_id index. */
  private unindex(contact: CrmContact): void {
    const externalId = contact.external_id;
    if (typeof externalId !== 'string') return;
    const ids = this.byExternalId.get(externalId);
    ids?.delete(contact.id);
    if (ids?.size === 0) this.byExternalId.delete(externalId);
  }

  private decide(): { kind: CrmFaultKind; status: 500 | 503 } | null {
    const f = this.config.faults;
    const u = this.prng.next();
    const bands: [CrmFaultKind, number][] = [
      ['serverError', f.serverError],
      ['rateLimit', f.rateLimit],
      ['reset', f.reset],
      ['lostResponse', f.lostResponse],
      ['lostResponse504', f.lostResponse504],
      ['slow', f.slow],
    ];
    let edge = 0;
    for (const [kind, share] of bands) {
      edge += share;
      // Every request draws once more, so the stream stays aligned whatever the outcome.
      if (u < edge) return { kind, status: this.prng.next() < 0.5 ? 500 : 503 };
    }
    this.prng.next();
    return null;
  }

  /** Appends to the request log, dropping the oldest entry past its size. */
  private logRequest(entry: CrmRequestLogEntry): void {
    this.log.push(entry);
    if (this.log.length > CRM_REQUEST_LOG_SIZE) this.log.splice(0, this.log.length - CRM_REQUEST_LOG_SIZE);
  }

  /** Records an arrival and the largest count of arrivals within one second so far. */
  private arrived(nowMs: number): void {
    this.arrivals.push(nowMs);
    let drop = 0;
    while (this.arrivals[drop]! <= nowMs - 1000) drop++;
    if (drop > 0) this.arrivals.splice(0, drop);
    this.counters.maxRequestsPerSecond = Math.max(this.counters.maxRequestsPerSecond, this.arrivals.length);
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  /** Writes the answer once `latencyMs` has passed since the request arrived (at once when it has). */
  private answer(res: ServerResponse, reply: Reply, arrivedAt: number): void {
    const wait = this.config.latencyMs - (performance.now() - arrivedAt);
    if (wait <= 0) {
      this.write(res, reply);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) this.write(res, reply);
    }, wait);
    this.timers.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      this.timers.delete(timer);
    });
  }

  private write(res: ServerResponse, reply: Reply): void {
    const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    headers['Content-Length'] = String(Buffer.byteLength(body));
    this.count(this.counters.statuses, String(reply.status));
    res.writeHead(reply.status, headers);
    res.end(body);
  }
}
