import type { ServerResponse } from 'node:http';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { describeError } from '../core/errors.ts';
import type { Logger } from '../core/types.ts';
import type { ServiceControl } from '../runtime/service-types.ts';
import { SseRefused } from '../sinks/sse/sse-channel.ts';
import { ApiError, badInput, toApiError } from './api-errors.ts';
import { API_ROUTES } from './api-routes.ts';
import { hasBearerToken } from './bearer-token.ts';
import { type Dashboard, isDashboardPath, mountDashboard } from './dashboard/dashboard-app.ts';
import { buildOpenApiDocument } from './openapi.ts';

export interface ApiAppOptions {
  /** Required as `Authorization: Bearer <token>` on every route but the health checks; null: none. */
  readonly token: string | null;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** How long a request may take before it is answered 504. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** One line per request (method, path, status, ms), and the internal errors behind 500s. */
  readonly log: Logger;
  /** The API's version in the OpenAPI document. */
  readonly version?: string;
  /** Serve the web dashboard under `/ui` (its own login: a session cookie or the bearer token). Default true. */
  readonly dashboard?: boolean;
}

/** Routes anyone may call: orchestrators probe them without credentials. */
const OPEN_PATHS = new Set<string>([API_ROUTES.healthz.path, API_ROUTES.readyz.path]);
/** Webhooks carry the provider's signature, not the service token, and have each stream's body limit. */
const WEBHOOKS = '/v1/webhooks/';

/** The request's body, or null once it is longer than `limit` bytes (read no further). */
async function readBounded(request: Request, limit: number): Promise<Buffer | null> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) return null;
  if (request.body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/**
 * The HTTP API of `syncline run` over a `ServiceControl`: status, runs, dead letters and the
 * operator actions the CLI has, plus health, readiness, metrics and its OpenAPI document. Every
 * request is bounded (body size, time) and, with a token, authenticated; errors answer
 * `{ error: { code, message } }` in one line, never with internals.
 */
export function createApiApp(control: ServiceControl, options: ApiAppOptions): Hono {
  const { token, log } = options;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const openApi = buildOpenApiDocument({ version: options.version ?? '0.1.0' });
  const app = new Hono();
  let dashboard: Dashboard | null = null;

  app.onError((error, c) => {
    const answer = toApiError(error);
    if (answer.status === 500) {
      log.error({ method: c.req.method, path: c.req.path, error: describeError(error) }, 'request failed');
    }
    return c.json(answer.toBody(), answer.status);
  });
  app.notFound((c) => {
    const answer = new ApiError(
      404,
      'not_found',
      `no route ${c.req.method} ${c.req.path}; see /v1/openapi.json`,
    );
    return c.json(answer.toBody(), 404);
  });

  // Outermost, so it sees the status of every answer, errors included. No headers: the token is
  // in one.
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    );
  });
  app.use(deadline(timeoutMs));
  app.use(async (c, next) => {
    if (
      token === null ||
      OPEN_PATHS.has(c.req.path) ||
      c.req.path.startsWith(WEBHOOKS) ||
      (dashboard !== null && isDashboardPath(c.req.path))
    ) {
      return next();
    }
    if (!hasBearerToken(c.req.header('authorization'), token)) {
      c.header('WWW-Authenticate', 'Bearer');
      throw new ApiError(
        401,
        'unauthorized',
        'missing or wrong bearer token: send `Authorization: Bearer <token>` with the service token',
      );
    }
    return next();
  });
  const limitBodies = bodyLimit({
    maxSize: options.bodyLimitBytes ?? 1024 * 1024,
    onError: () => {
      throw new ApiError(
        413,
        'payload_too_large',
        `the request body is larger than ${options.bodyLimitBytes ?? 1024 * 1024} bytes`,
      );
    },
  });
  app.use((c, next) => (c.req.path.startsWith(WEBHOOKS) ? next() : limitBodies(c, next)));

  if (options.dashboard ?? true) dashboard = mountDashboard(app, control, { token, log });

  app.get(API_ROUTES.healthz.path, (c) => c.json({ ok: true }));
  app.get(API_ROUTES.readyz.path, async (c) => {
    const ready = await control.ready();
    return c.json(ready, ready.ready ? 200 : 503);
  });
  app.get(API_ROUTES.metrics.path, async (c) => {
    const { contentType, body } = await control.metrics();
    return c.body(body, 200, { 'Content-Type': contentType });
  });
  app.get(API_ROUTES.openapi.path, (c) => c.json(openApi));

  app.get(API_ROUTES.streams.path, async (c) => c.json(await control.streams()));
  app.get(API_ROUTES.runs.path, async (c) => {
    const { name } = parse(API_ROUTES.runs.params, c.req.param(), 'path');
    const { limit } = parse(API_ROUTES.runs.query, c.req.query(), 'query');
    return c.json(await control.runs(name, limit));
  });
  app.get(API_ROUTES.failed.path, async (c) => {
    const query = parse(API_ROUTES.failed.query, c.req.query(), 'query');
    return c.json(
      await control.failed({
        ...(query.stream !== undefined ? { stream: query.stream } : {}),
        limit: query.limit,
        all: query.all,
      }),
    );
  });
  app.get(API_ROUTES.actions.path, async (c) => {
    const query = parse(API_ROUTES.actions.query, c.req.query(), 'query');
    return c.json(await control.actions(query.stream ?? null, query.limit));
  });
  for (const mode of ['sync', 'reconcile'] as const) {
    const route = API_ROUTES[mode];
    app.post(route.path, async (c) => {
      const { name } = parse(route.params, c.req.param(), 'path');
      return c.json(await control.trigger(name, mode), 202);
    });
  }
  app.post(API_ROUTES.approve.path, async (c) => {
    const { name } = parse(API_ROUTES.approve.params, c.req.param(), 'path');
    return c.json(await control.approve(name));
  });
  app.post(API_ROUTES.reset.path, async (c) => {
    const { name } = parse(API_ROUTES.reset.params, c.req.param(), 'path');
    return c.json(await control.reset(name));
  });
  app.post(API_ROUTES.replay.path, async (c) => {
    const body = parse(API_ROUTES.replay.body, await jsonBody(c), 'body');
    return c.json(
      await control.replay({
        ...(body.stream !== undefined ? { stream: body.stream } : {}),
        ...(body.ids !== undefined ? { ids: body.ids } : {}),
      }),
      202,
    );
  });
  app.post(API_ROUTES.ignore.path, async (c) => {
    const body = parse(API_ROUTES.ignore.body, await jsonBody(c), 'body');
    return c.json(
      await control.ignore({
        ...(body.stream !== undefined ? { stream: body.stream } : {}),
        ...(body.ids !== undefined ? { ids: body.ids } : {}),
      }),
    );
  });
  app.get(API_ROUTES.events.path, async (c) => {
    const channel = control.events?.() ?? null;
    if (channel === null) {
      throw new ApiError(
        404,
        'not_found',
        'the config has no sse sink: add `- name: events, type: sse` under sinks: to serve GET /v1/events (see README "Server-sent events")',
      );
    }
    const query = parse(API_ROUTES.events.query, c.req.query(), 'query');
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    let body: ReadableStream<Uint8Array>;
    try {
      body = await channel.open({
        streams: query.streams,
        kinds: query.kinds,
        since: query.since,
        lastEventId: c.req.header('last-event-id'),
        signal: c.req.raw.signal,
        // On Node, a client that takes nothing is cut by destroying its socket (an errored body
        // would be logged by the adapter as a failure of the server).
        ...(outgoing ? { cut: () => void (outgoing.writableFinished || outgoing.destroy()) } : {}),
      });
    } catch (error) {
      if (error instanceof SseRefused) throw new ApiError(error.status, error.code, error.message);
      throw error;
    }
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache',
        // nginx and similar proxies would otherwise buffer the stream.
        'X-Accel-Buffering': 'no',
      },
    });
  });
  app.post(API_ROUTES.webhook.path, async (c) => {
    const { name } = parse(API_ROUTES.webhook.params, c.req.param(), 'path');
    const intake = control.webhooks?.() ?? null;
    if (intake === null) {
      throw new ApiError(
        404,
        'not_found',
        `no webhook stream "${name}": the config has none (a stream with type: webhook)`,
      );
    }
    const limit = intake.bodyLimit(name);
    if (limit === null) {
      const answer = await intake.receive(name, { headers: () => undefined, body: Buffer.alloc(0) });
      return c.json(answer.body, answer.status);
    }
    const body = await readBounded(c.req.raw, limit);
    if (body === null) throw new ApiError(413, 'payload_too_large', `the body is larger than ${limit} bytes`);
    const answer = await intake.receive(name, { headers: (header) => c.req.header(header), body });
    return c.json(answer.body, answer.status);
  });
  app.get(API_ROUTES.sinks.path, async (c) => c.json(await control.sinks()));
  app.get(API_ROUTES.workers.path, async (c) => c.json(await control.workers()));
  app.post(API_ROUTES.resumeSink.path, async (c) => {
    const { name } = parse(API_ROUTES.resumeSink.params, c.req.param(), 'path');
    return c.json(await control.resumeSink(name));
  });
  app.post(API_ROUTES.replaySink.path, async (c) => {
    const { name } = parse(API_ROUTES.replaySink.params, c.req.param(), 'path');
    const body = parse(API_ROUTES.replaySink.body, await jsonBody(c), 'body');
    return c.json(await control.replaySink(name, body.ids ? { ids: body.ids } : {}));
  });
  return app;
}

/** `value` checked by `schema`, or a 400 naming the first thing wrong. */
function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw badInput(result.error, where);
  return result.data;
}

/** The request's JSON body; an empty body is `{}` (every field of the API's bodies is optional). */
async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'bad_request', 'body: is not JSON; send a JSON object');
  }
}

/**
 * Answers 504 when the rest of the chain takes longer than `ms`. The handler goes on (nothing it
 * calls takes a signal) but its answer is dropped; what it started (a queued run) is not undone.
 */
function deadline(ms: number): MiddlewareHandler {
  return async (_c, next) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApiError(
              504,
              'timeout',
              `the request took longer than ${ms} ms; the service may be busy: try again`,
            ),
          ),
        ms,
      );
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
