import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { inCodeValidator } from '../in-code-stream.ts';
import { authConfigSchema } from './auth/auth-config.ts';
import { urlProblem } from './url-problem.ts';

/**
 * The JSON/YAML form of an HTTP stream: the same shape as `http.stream({...})`, validated here
 * because plain config files get no help from the type checker. (A TypeScript config can add a
 * `schema`; a JSON/YAML one cannot, since a schema is code.)
 */
export const field = z.string().min(1, 'must be a non-empty field path');
export const duration = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'must be like 500ms, 90s, 15m, 1h or 7d'),
]);
const hasMorePath = { hasMorePath: z.string().min(1).optional() };
/** An absolute http(s) URL on a port fetch connects to. */
const fetchableUrl = z.string().superRefine((value, ctx) => {
  const problem = urlProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

export const paginationSchema = z.discriminatedUnion(
  'type',
  [
    strictObject({
      type: z.literal('cursor'),
      tokenPath: z.string().optional(),
      tokenHeader: z.string().optional(),
      param: z.string().optional(),
      ...hasMorePath,
    }),
    strictObject({ type: z.literal('link') }),
    strictObject({
      type: z.literal('keyset'),
      afterIdParam: z.string().optional(),
      offsetParam: z.string().optional(),
      ...hasMorePath,
    }),
    strictObject({
      type: z.literal('page'),
      param: z.string().optional(),
      firstPage: z.number().int().optional(),
      totalPagesPath: z.string().optional(),
      ...hasMorePath,
    }),
    strictObject({
      type: z.literal('offset'),
      param: z.string().optional(),
      overlap: z.number().int().min(0).optional(),
      ...hasMorePath,
    }),
    strictObject({
      type: z.literal('window'),
      fromParam: z.string().optional(),
      toParam: z.string().optional(),
      window: z.number().int().positive(),
      start: z.string().min(1),
      offsetParam: z.string().optional(),
      ...hasMorePath,
    }),
    strictObject({
      type: z.literal('feed'),
      tokenPath: z.string().min(1).optional(),
      param: z.string().min(1).optional(),
      pendingPath: z.string().min(1).optional(),
      ...hasMorePath,
    }),
  ],
  { error: 'must have a type: cursor, link, keyset, page, offset, window or feed' },
);

/** What names a stream and its records, whatever its kind: the fields a push source shares with its `poll`. */
export const streamIdentityFields = {
  name: z.string().min(1),
  key: z.union([field, z.array(field).min(1)]),
  cursor: field.optional(),
  version: field.optional(),
  deleted: field.optional(),
};

export const httpStreamSchema = strictObject({
  ...streamIdentityFields,
  request: strictObject({
    baseUrl: fetchableUrl,
    path: z.string().optional(),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeoutMs: z.number().int().positive().optional(),
    connectTimeoutMs: z.number().int().positive().optional(),
  }),
  auth: authConfigSchema.optional(),
  records: z.string().optional(),
  record: field.optional(),
  deletedPath: field.optional(),
  fields: strictObject({
    rename: z.record(field, field).optional(),
    drop: z.array(field).optional(),
  }).optional(),
  pagination: paginationSchema,
  pageSize: z.number().int().positive().optional(),
  pageSizeParam: z.string().nullable().optional(),
  totalPath: z.string().min(1).optional(),
  incremental: strictObject({
    param: z.string().optional(),
    format: z.enum(['iso', 'epoch_s', 'epoch_ms']).optional(),
    start: z.string().optional(),
    lookback: duration.optional(),
    safetyLag: duration.optional(),
    tieBreaker: field.optional(),
    tieBreakerType: z.enum(['number', 'string']).optional(),
  }).optional(),
  conditional: z.union([z.boolean(), z.literal('head')]).optional(),
  fetchById: strictObject({
    path: z.string().refine((v) => v.includes('{id}'), 'must contain {id}'),
    record: z.string().optional(),
  }).optional(),
  deletes: strictObject({
    feed: strictObject({
      path: z.string().min(1),
      records: z.string().optional(),
      deletedAt: field.optional(),
      sinceParam: z.string().min(1).optional(),
      afterIdParam: z.string().min(1).optional(),
      hasMorePath: z.string().optional(),
      pageSize: z.number().int().positive().optional(),
    }).optional(),
  }).optional(),
  rateLimit: strictObject({
    requestsPerSecond: z.number().positive(),
    burst: z.number().int().positive().optional(),
    shared: z.boolean().optional(),
  }).optional(),
});

/**
 * Checks the object given to `http.stream({...})` in code (see `inCodeValidator`): a ConfigError
 * such as `stream "people": cursr: unknown key; did you mean "cursor"?`.
 */
export const validateHttpStream = inCodeValidator(httpStreamSchema, 'http.stream');

/**
 * An HTTP stream's request side without the stream's own names: the `poll:` of a push source
 * (webhook, WebSocket), which reads the same records over REST.
 */
export const pollSchema = httpStreamSchema.omit({
  name: true,
  key: true,
  cursor: true,
  version: true,
  deleted: true,
});
