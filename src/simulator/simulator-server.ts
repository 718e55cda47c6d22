import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdmin } from './admin-handler.ts';
import { CandleFeed, type WsFeedConfig, type WsFeedStats } from './candle-feed.ts';
import { candleKind } from './candle-kind.ts';
import { handleChanges } from './changes-handler.ts';
import { ClientRateLimiter, rateLimitHeaders } from './client-rate-limiter.ts';
import { Crm } from './crm.ts';
import { customerKind } from './customer-kind.ts';
import { Dataset, type GroundTruthEntry } from './dataset.ts';
import { type FaultDecision, FaultInjector, type FaultKind } from './fault-injector.ts';
import type { ListLimits } from './list-handler.ts';
import { type MutationCounts, MutationEngine } from './mutation-engine.ts';
import { orderKind } from './order-kind.ts';
import { PagePrefetcher } from './page-prefetcher.ts';
import { parseLimit, parseTime } from './query-params.ts';
import { MAX_BASE_COUNT } from './record-index.ts';
import { type Answer, errorAnswer, withValidators, writeAnswer } from './response-writer.ts';
import { SimulatorConfigError, SimulatorRequestError } from './simulator-errors.ts';
import {
  DEFAULT_FAULTS,
  DEFAULT_MUTATIONS,
  type FaultConfig,
  type FaultPatch,
  type MutationConfig,
  type MutationPatch,
  mergeFaults,
  mergeMutations,
  type SimulatorOptions,
} from './simulator-options.ts';

/** What a checker compares a store with: live keys with content hashes, and deleted keys. */
export interface GroundTruth {
  /** Key -> `contentHash` of every record that is neither soft- nor hard-deleted. */
  live: Map<string, string>;
  /** Key -> how it was deleted. Soft-deleted records are still listed, with `deleted: true`. */
  deleted: Map<string, 'soft' | 'hard'>;
}

export interface SimulatorStats {
  /** Requests by `METHOD /route`, e.g. `GET /v1/customers`. */
  requests: Record<string, number>;
  /** Answers by status code (hangs and resets are not answers and are not counted here). */
  statuses: Record<string, number>;
  /** Faults injected by kind; `clientLimit` counts real token-bucket rejections. */
  faults: Record<FaultKind | 'clientLimit' | 'unauthorized', number>;
  mutations: MutationCounts;
}

/** Starts a simulator on loopback and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorServer> {
  const sim = new SimulatorServer(options);
  await sim.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return sim;
}

/**
 * The misbehaving API: datasets, mutation engine, fault injector and per-client limiter behind one
 * `node:http` server. See docs/simulator.md for every endpoint and knob.
 */
export class SimulatorServer {
  readonly seed: number;
  private readonly datasets = new Map<string, Dataset>();
  private readonly engine: MutationEngine;
  private readonly injector: FaultInjector;
  private readonly limiter = new ClientRateLimiter();
  private readonly clock: () => number;
  private readonly options: SimulatorOptions;
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly counters: SimulatorStats;
  private address = '';
  private readonly limits: ListLimits;
  private readonly prefetcher: PagePrefetcher;
  /** The CRM that destinations push into (`/crm/...`); its contacts are the push ground truth. */
  readonly crm: Crm;
  /** The live candle feed at `/ws`; absent when the `candles` dataset is not served. */
  private readonly feed: CandleFeed | undefined;

  constructor(options: SimulatorOptions) {
    this.options = options;
    this.seed = options.seed ?? 1;
    this.clock = options.clock ?? Date.now;
    this.limits = {
      defaultPageSize: options.defaultPageSize ?? 100,
      maxPageSize: options.maxPageSize ?? 1000,
    };
    if (this.limits.defaultPageSize < 1 || this.limits.maxPageSize < 1) {
      throw new SimulatorConfigError('defaultPageSize and maxPageSize must be at least 1');
    }
    this.prefetcher = new PagePrefetcher(this.limits);
    const sizes = options.datasets ?? { customers: 1000, orders: 1000, candles: 1000 };
    const check = (name: string, n: number): number => {
      if (!Number.isInteger(n) || n < 0 || n > MAX_BASE_COUNT) {
        throw new SimulatorConfigError(
          `datasets.${name} must be an integer in [0, ${MAX_BASE_COUNT}], got ${n}`,
        );
      }
      return n;
    };
    if (sizes.customers !== undefined) {
      this.add(new Dataset(customerKind(this.seed, check('customers', sizes.customers))));
    }
    if (sizes.orders !== undefined) {
      this.add(new Dataset(orderKind(this.seed, check('orders', sizes.orders), sizes.customers ?? 1000)));
    }
    if (sizes.candles !== undefined) {
      const candles = typeof sizes.candles === 'number' ? { count: sizes.candles } : sizes.candles;
      const kind = candleKind(this.seed, { ...candles, count: check('candles', candles.count) });
      const dataset = new Dataset(kind);
      this.add(dataset);
      this.feed = new CandleFeed(dataset, kind, this.seed, options.ws ?? {}, this.clock, (req, url) =>
        this.upgradeAllowed(req, url),
      );
    }
    this.injector = new FaultInjector(this.seed, mergeFaults(DEFAULT_FAULTS, options.faults ?? {}));
    this.limiter.configure(this.injector.current.clientLimit);
    this.engine = new MutationEngine(
      [...this.datasets.values()],
      this.seed,
      mergeMutations(DEFAULT_MUTATIONS, options.mutations ?? {}),
      this.clock,
    );
    this.crm = new Crm(this.seed, options.crm ?? {}, this.clock);
    this.counters = {
      requests: {},
      statuses: {},
      faults: {
        rateLimit: 0,
        serverError: 0,
        hang: 0,
        reset: 0,
        truncated: 0,
        malformed: 0,
        slow: 0,
        clientLimit: 0,
        unauthorized: 0,
      },
      mutations: this.engine.totals,
    };
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => {
      if (this.feed !== undefined) this.feed.handleUpgrade(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
  }

  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  get url(): string {
    return this.address;
  }

  get faults(): FaultConfig {
    return this.injector.current;
  }

  get mutations(): MutationConfig {
    return this.engine.current;
  }

  /** The names of the served datasets. */
  get datasetNames(): string[] {
    return [...this.datasets.keys()];
  }

  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    this.address = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    this.engine.schedule();
  }

  /** Applies `n` mutations now, besides the background rate (a burst counts as one). */
  mutate(n: number): MutationCounts {
    return this.engine.mutate(n);
  }

  /** Changes fault knobs; unnamed knobs keep their values. Throws `SimulatorConfigError`. */
  setFaults(patch: FaultPatch): FaultConfig {
    const next = mergeFaults(this.injector.current, patch);
    if (JSON.stringify(next.clientLimit) !== JSON.stringify(this.injector.current.clientLimit)) {
      this.limiter.configure(next.clientLimit);
    }
    this.injector.configure(next);
    return next;
  }

  /** Changes mutation knobs; `{ ratePerSecond: 0 }` stops background mutations. */
  setMutations(patch: MutationPatch): MutationConfig {
    const next = mergeMutations(this.engine.current, patch);
    this.engine.configure(next);
    return next;
  }

  /** The live feed's knobs and counters (`GET /_admin/ws`). */
  wsStatus(): { config: WsFeedConfig; stats: WsFeedStats } {
    const feed = this.requireFeed();
    return { config: feed.current, stats: feed.stats() };
  }

  /** Changes live-feed knobs; unnamed knobs keep their values. Throws `SimulatorConfigError`. */
  setWs(patch: unknown): WsFeedConfig {
    return this.requireFeed().configure(patch);
  }

  private requireFeed(): CandleFeed {
    if (this.feed === undefined) throw new SimulatorConfigError('the live feed needs the candles dataset');
    return this.feed;
  }

  dataset(name: string): Dataset {
    const dataset = this.datasets.get(name);
    if (dataset === undefined) {
      throw new SimulatorConfigError(`no dataset "${name}"; served: ${this.datasetNames.join(', ')}`);
    }
    return dataset;
  }

  /** Every record ever created in a dataset, with status, version and hash (index order). */
  groundTruthEntries(name: string): Iterable<GroundTruthEntry> {
    return this.dataset(name).groundTruth();
  }

  /** Live keys with hashes and deleted keys; holds the whole dataset's keys in memory. */
  groundTruth(name: string): GroundTruth {
    const truth: GroundTruth = { live: new Map(), deleted: new Map() };
    for (const entry of this.groundTruthEntries(name)) {
      if (entry.status === 'live') truth.live.set(entry.key, entry.hash!);
      else truth.deleted.set(entry.key, entry.status === 'hard_deleted' ? 'hard' : 'soft');
    }
    return truth;
  }

  stats(): SimulatorStats {
    return structuredClone(this.counters);
  }

  /** Stops mutations and the feed, drops every connection (hung ones included) and closes the port. */
  async close(): Promise<void> {
    this.engine.stop();
    await this.feed?.close();
    this.prefetcher.close();
    this.crm.close();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private add(dataset: Dataset): void {
    this.datasets.set(dataset.name, dataset);
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
    if (url.pathname === '/crm' || url.pathname.startsWith('/crm/')) {
      // The CRM keeps its own stats, auth, limits and faults; the pulled API's are untouched.
      this.crm.handle(req, res, url).catch(() => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify({ error: { code: 'server_error', message: 'internal error' } }));
        } else res.destroy();
      });
      return;
    }
    res.on('finish', () => this.count(this.counters.statuses, String(res.statusCode)));
    if (url.pathname.startsWith('/_admin/')) {
      this.count(
        this.counters.requests,
        `${req.method} ${url.pathname.replace(/ground-truth\/.*/, 'ground-truth/:dataset')}`,
      );
      handleAdmin(this, req, res, url).catch((error: unknown) => {
        const status =
          error instanceof SimulatorConfigError || error instanceof SimulatorRequestError ? 400 : 500;
        if (!res.headersSent)
          writeAnswer(req, res, errorAnswer(status, 'invalid_request', String(error)), { kind: null });
        else res.destroy();
      });
      return;
    }
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const dataset = parts[0] === 'v1' && parts[1] !== undefined ? this.datasets.get(parts[1]) : undefined;
    if (dataset === undefined || parts.length > 3) {
      writeAnswer(req, res, errorAnswer(404, 'not_found', `no route ${url.pathname}`), { kind: null });
      return;
    }
    const route =
      parts.length === 2 ? '' : parts[2] === 'deleted' || parts[2] === 'changes' ? `/${parts[2]}` : '/:id';
    this.count(this.counters.requests, `${req.method} /v1/${dataset.name}${route}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      writeAnswer(
        req,
        res,
        errorAnswer(405, 'method_not_allowed', `${req.method} is not allowed here`, { Allow: 'GET, HEAD' }),
        {
          kind: null,
        },
      );
      return;
    }
    this.serveApi(req, res, url, dataset, parts[2]);
  }

  /** Auth, the per-client limiter, the fault draw, then the answer. */
  private serveApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    dataset: Dataset,
    sub: string | undefined,
  ): void {
    const now = Date.now();
    const credential = this.credential(req, url);
    if (credential === null) {
      this.counters.faults.unauthorized++;
      const answer = errorAnswer(401, 'unauthorized', 'a valid bearer token or API key is required', {
        'WWW-Authenticate': 'Bearer realm="syncline-simulator"',
      });
      writeAnswer(req, res, answer, { kind: null });
      return;
    }
    const verdict = this.limiter.take(credential || (req.socket.remoteAddress ?? 'unknown'), now);
    const rate = rateLimitHeaders(verdict);
    if (!verdict.allowed) {
      this.counters.faults.clientLimit++;
      const headers = { ...rate, 'Retry-After': String(verdict.retryAfterSec) };
      writeAnswer(req, res, errorAnswer(429, 'rate_limited', 'client rate limit exceeded', headers), {
        kind: null,
      });
      return;
    }
    const fault = this.injector.decide();
    if (fault.kind !== null) this.counters.faults[fault.kind]++;
    const answerNow = (): Answer => this.answer(req, url, dataset, sub, rate, fault, now);
    switch (fault.kind) {
      case 'hang': {
        // Never answer; drop the socket after hangMs so nothing leaks, or earlier if the client leaves.
        const timer = this.later(this.injector.current.hangMs, () => req.socket.destroy());
        res.on('close', () => {
          clearTimeout(timer);
          this.timers.delete(timer);
        });
        return;
      }
      case 'slow':
        this.later(this.injector.current.slowMs, () => {
          if (!res.destroyed) writeAnswer(req, res, answerNow(), fault);
        });
        return;
      default:
        writeAnswer(req, res, answerNow(), fault);
    }
  }

  private answer(
    req: IncomingMessage,
    url: URL,
    dataset: Dataset,
    sub: string | undefined,
    rate: Record<string, string>,
    fault: FaultDecision,
    nowMs: number,
  ): Answer {
    if (fault.kind === 'rateLimit') {
      const seconds = this.injector.current.retryAfterSeconds;
      const retryAfter = fault.httpDate ? new Date(nowMs + seconds * 1000).toUTCString() : String(seconds);
      const headers = {
        ...rate,
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil(nowMs / 1000) + seconds),
        'Retry-After': retryAfter,
      };
      return errorAnswer(429, 'rate_limited', 'too many requests', headers);
    }
    if (fault.kind === 'serverError') {
      const text = { 500: 'internal error', 502: 'bad gateway', 503: 'service unavailable' }[fault.status];
      return errorAnswer(fault.status, 'server_error', text, rate);
    }
    try {
      const answer = this.route(url, dataset, sub);
      const validated = withValidators(
        req,
        { ...answer, headers: { ...rate, ...answer.headers } },
        dataset.lastModifiedMs,
        this.clock(),
      );
      return validated;
    } catch (error) {
      if (error instanceof SimulatorRequestError)
        return errorAnswer(error.status, 'invalid_request', error.message, rate);
      throw error;
    }
  }

  private route(url: URL, dataset: Dataset, sub: string | undefined): Answer {
    const limits = this.limits;
    if (sub === undefined) {
      const { answer, etag } = this.prefetcher.list(dataset, url);
      return { status: 200, headers: answer.headers, body: answer.body, etag };
    }
    if (sub === 'deleted') {
      const q = url.searchParams;
      const since = parseTime(q, 'since', Number.NEGATIVE_INFINITY);
      const afterId = q.get('after_id');
      const limit = parseLimit(q, ['limit'], limits.defaultPageSize, limits.maxPageSize);
      const { items, more } = dataset.tombstonesAfter(since, afterId === '' ? null : afterId, limit);
      const data = items.map((t) => ({ id: t.id, deleted_at: new Date(t.deletedMs).toISOString() }));
      return { status: 200, headers: {}, body: JSON.stringify({ data, has_more: more }) };
    }
    if (sub === 'changes') {
      return { status: 200, headers: {}, body: handleChanges(dataset, url, limits) };
    }
    const index = dataset.find(decodeURIComponent(sub));
    if (index === undefined) return errorAnswer(404, 'not_found', `no ${dataset.name} record ${sub}`);
    return { status: 200, headers: {}, body: dataset.json(index) };
  }

  /** A WebSocket upgrade: any credential the API accepts, or `?token=` holding one. */
  private upgradeAllowed(req: IncomingMessage, url: URL): boolean {
    if (this.credential(req, url) !== null) return true;
    const token = url.searchParams.get('token');
    const auth = this.options.auth;
    return token !== null && (auth?.bearerTokens?.includes(token) || auth?.apiKeys?.includes(token)) === true;
  }

  /**
   * The client's credential: '' when the API needs none, null when it needs one and the request
   * has no valid one.
   */
  private credential(req: IncomingMessage, url: URL): string | null {
    const auth = this.options.auth;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const headerKey = req.headers['x-api-key'];
    const key =
      (typeof headerKey === 'string' ? headerKey : undefined) ?? url.searchParams.get('api_key') ?? undefined;
    if (auth === undefined || ((auth.bearerTokens?.length ?? 0) === 0 && (auth.apiKeys?.length ?? 0) === 0)) {
      return bearer ?? key ?? '';
    }
    if (bearer !== undefined && auth.bearerTokens?.includes(bearer)) return bearer;
    if (key !== undefined && auth.apiKeys?.includes(key)) return key;
    return null;
  }
}
