import type { DestinationOperations } from '../../core/destination-spec.ts';
import { FatalError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import type { Json } from '../../core/types.ts';
import { createHttpTarget, type HttpTarget, type TargetAnswer } from '../http-target.ts';
import { checkTarget } from '../target-guard.ts';
import { compileTemplate } from './record-map.ts';

/** The requests of an HTTP destination (see `DestinationOperations`). */
export type HttpDestinationOperations = DestinationOperations;

export interface HttpDestinationClientOptions {
  /** The destination's name, in messages. */
  readonly name: string;
  readonly baseUrl: string;
  /** Sent with every request (credentials among them: never in messages). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly operations: HttpDestinationOperations;
  /** The header that carries a create's idempotency key. Default `Idempotency-Key`. */
  readonly idempotencyHeader?: string;
  readonly timeoutMs: number;
  readonly rateLimit?: number;
  readonly allowPrivateTargets?: boolean;
}

/** What a write is about: the record and where it comes from. */
export interface WriteContext {
  readonly stream: string;
  readonly key: string;
  readonly record: Json | null;
}

/** The destination's answer to a write: done (with the object's id), or refused for good. */
export type WriteOutcome =
  | { readonly ok: true; readonly externalId: string }
  | { readonly ok: false; readonly reason: string };

export interface HttpDestinationClient {
  /** The object's id, or null when the destination has none for this record (or no `find`). */
  find(context: WriteContext, signal: AbortSignal): Promise<string | null>;
  create(
    payload: Json,
    idempotencyKey: string,
    context: WriteContext,
    signal: AbortSignal,
  ): Promise<WriteOutcome>;
  /** `gone`: the destination no longer has that object (404): the caller looks it up again. */
  update(
    externalId: string,
    payload: Json,
    context: WriteContext,
    signal: AbortSignal,
  ): Promise<WriteOutcome | { readonly ok: false; readonly gone: true }>;
  remove(externalId: string, context: WriteContext, signal: AbortSignal): Promise<WriteOutcome>;
  /**
   * Upserts `payloads` in one request of the `batch` operation: one outcome per payload, in order,
   * or one refusal for all (a 4xx of the whole request).
   */
  bulk(
    payloads: readonly Json[],
    idempotencyKey: string,
    signal: AbortSignal,
  ): Promise<readonly WriteOutcome[] | { readonly ok: false; readonly reason: string }>;
  close(): Promise<void>;
}

/** How much of a refusal's body a reason keeps. */
const BODY_CHARS = 300;

/**
 * A destination's HTTP calls over one `HttpTarget` (the SSRF guard checks `baseUrl` here and every
 * connection after; pace; transient errors retried by the caller): 2xx is done; 401 and 403 are fatal (the credentials, not the record); any other
 * 4xx refuses the record for good with the status and the start of the answer as the reason.
 */
export async function createHttpDestinationClient(
  options: HttpDestinationClientOptions,
): Promise<HttpDestinationClient> {
  const owner = `destination "${options.name}"`;
  let base: URL;
  try {
    base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  } catch {
    throw new FatalError(`${owner}: baseUrl is not a URL`);
  }
  await checkTarget(owner, base, options.allowPrivateTargets ?? false);
  const target: HttpTarget = createHttpTarget({
    owner,
    timeoutMs: options.timeoutMs,
    allowPrivateTargets: options.allowPrivateTargets ?? false,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  const ops = options.operations;
  const path = (template: string, at: string) =>
    compileTemplate(template, `${owner}: ${at}`, encodeURIComponent);
  const createPath = ops.create ? path(ops.create.path, 'create.path') : null;
  const batchPath = ops.batch ? path(ops.batch.path, 'batch.path') : null;
  const updatePath = ops.update ? path(ops.update.path, 'update.path') : null;
  const deletePath = ops.delete ? path(ops.delete.path, 'delete.path') : null;
  const findPath = ops.find ? path(ops.find.path, 'find.path') : null;
  const findQuery = Object.entries(ops.find?.query ?? {}).map(
    ([name, value]) => [name, compileTemplate(value, `${owner}: find.query.${name}`)] as const,
  );
  const idempotencyHeader = options.idempotencyHeader ?? 'Idempotency-Key';

  const lookup = (context: WriteContext, externalId?: string) => (name: string) => {
    if (name === 'externalId') return externalId;
    if (name === 'key') return context.key;
    if (name === 'stream') return context.stream;
    return readPath(context.record, name);
  };
  const url = (relative: string, query: readonly (readonly [string, string])[] = []) => {
    const out = new URL(relative.replace(/^\//, ''), base);
    for (const [name, value] of query) out.searchParams.set(name, value);
    return out;
  };
  const headers = (extra: Record<string, string> = {}) => ({
    'user-agent': 'syncline-destination',
    accept: 'application/json',
    ...options.headers,
    ...extra,
  });
  const json = { 'content-type': 'application/json' };

  /** 2xx: the answer; 401/403: fatal; another 4xx: the reason it was refused. */
  const judge = (answer: TargetAnswer, method: string): TargetAnswer | string => {
    if (answer.status >= 200 && answer.status < 300) return answer;
    if (answer.status === 401 || answer.status === 403) {
      throw new FatalError(
        `${owner}: ${method} ${answer.where} answered ${answer.status}: the destination refused the credentials; check its headers or token and run again`,
      );
    }
    const excerpt = answer.body.replace(/\s+/g, ' ').trim().slice(0, BODY_CHARS);
    return `${answer.status} from ${answer.where}${excerpt ? `: ${excerpt}` : ''}`;
  };
  const parse = (answer: TargetAnswer, method: string, wanted: string): unknown => {
    try {
      return answer.body === '' ? null : JSON.parse(answer.body);
    } catch {
      throw new FatalError(
        `${owner}: ${method} ${answer.where} answered ${answer.status} with a body that is not JSON; cannot read ${wanted}`,
      );
    }
  };
  const idFrom = (answer: TargetAnswer, idPath: string, method: string): string => {
    const id = readPath(parse(answer, method, idPath), idPath);
    if (typeof id !== 'string' && typeof id !== 'number') {
      throw new FatalError(
        `${owner}: ${method} ${answer.where} answered ${answer.status} without an id at ${idPath}; set idPath`,
      );
    }
    return String(id);
  };

  return {
    async find(context, signal) {
      if (!findPath || !ops.find) return null;
      const query = findQuery.map(([name, fill]) => [name, fill(lookup(context))] as const);
      const answer = await target.call(
        { method: 'GET', url: url(findPath(lookup(context)), query), headers: headers() },
        signal,
      );
      if (answer.status === 404) return null;
      const judged = judge(answer, 'GET');
      if (typeof judged === 'string') {
        throw new FatalError(`${owner}: find: ${judged}; a lookup must answer 2xx or 404`);
      }
      let body: unknown;
      try {
        body = judged.body === '' ? null : JSON.parse(judged.body);
      } catch {
        throw new FatalError(`${owner}: find: GET ${judged.where} answered a body that is not JSON`);
      }
      const id = readPath(body, ops.find.idPath);
      return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
    },

    async create(payload, idempotencyKey, context, signal) {
      if (!createPath || !ops.create) {
        throw new FatalError(`${owner}: has no create operation; add create: { path } to make objects`);
      }
      const method = ops.create.method ?? 'POST';
      const answer = await target.call(
        {
          method,
          url: url(createPath(lookup(context))),
          headers: headers({ ...json, [idempotencyHeader]: idempotencyKey }),
          body: JSON.stringify(payload),
        },
        signal,
      );
      const judged = judge(answer, method);
      if (typeof judged === 'string') return { ok: false, reason: judged };
      return { ok: true, externalId: idFrom(judged, ops.create.idPath ?? 'id', method) };
    },

    async update(externalId, payload, context, signal) {
      if (!updatePath || !ops.update) {
        throw new FatalError(
          `${owner}: has no update operation; add update: { path } to change objects it created`,
        );
      }
      const method = ops.update.method ?? 'PATCH';
      const answer = await target.call(
        {
          method,
          url: url(updatePath(lookup(context, externalId))),
          headers: headers(json),
          body: JSON.stringify(payload),
        },
        signal,
      );
      if (answer.status === 404) return { ok: false, gone: true };
      const judged = judge(answer, method);
      return typeof judged === 'string' ? { ok: false, reason: judged } : { ok: true, externalId };
    },

    async remove(externalId, context, signal) {
      if (!deletePath)
        throw new FatalError(`${owner}: has no delete operation; add delete: { path } to mirror deletes`);
      const answer = await target.call(
        { method: 'DELETE', url: url(deletePath(lookup(context, externalId))), headers: headers() },
        signal,
      );
      if (answer.status === 404) return { ok: true, externalId };
      const judged = judge(answer, 'DELETE');
      return typeof judged === 'string' ? { ok: false, reason: judged } : { ok: true, externalId };
    },

    async bulk(payloads, idempotencyKey, signal) {
      if (!batchPath || !ops.batch) throw new FatalError(`${owner}: has no batch operation`);
      const spec = ops.batch;
      const answer = await target.call(
        {
          method: 'POST',
          url: url(batchPath(() => undefined)),
          headers: headers({ ...json, [idempotencyHeader]: idempotencyKey }),
          body: JSON.stringify({ [spec.itemsField ?? 'inputs']: payloads }),
        },
        signal,
      );
      const judged = judge(answer, 'POST');
      if (typeof judged === 'string') return { ok: false, reason: judged };
      const resultsPath = spec.resultsPath ?? 'results';
      const entries = readPath(parse(judged, 'POST', resultsPath), resultsPath);
      if (!Array.isArray(entries) || entries.length !== payloads.length) {
        throw new FatalError(
          `${owner}: batch: POST ${judged.where} answered ${Array.isArray(entries) ? `${entries.length} entries` : 'no array'} at ${resultsPath} for ${payloads.length} records; set batch.resultsPath to the array of per-record results`,
        );
      }
      const idPath = spec.idPath ?? 'id';
      const errorPath = spec.errorPath ?? 'error';
      return entries.map((entry): WriteOutcome => {
        const refusal = readPath(entry, errorPath);
        if (refusal !== undefined && refusal !== null) {
          const text = typeof refusal === 'string' ? refusal : JSON.stringify(refusal);
          return { ok: false, reason: `refused by ${judged.where}: ${text.slice(0, BODY_CHARS)}` };
        }
        const id = readPath(entry, idPath);
        if (typeof id !== 'string' && typeof id !== 'number') {
          throw new FatalError(
            `${owner}: batch: POST ${judged.where} answered an entry with neither an id at ${idPath} nor an error at ${errorPath}; set batch.idPath / batch.errorPath`,
          );
        }
        return { ok: true, externalId: String(id) };
      });
    },

    close: () => target.close(),
  };
}
