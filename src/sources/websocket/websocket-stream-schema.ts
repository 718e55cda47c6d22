import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { pollSchema, streamIdentityFields } from '../http/http-stream-schema.ts';
import { inCodeValidator } from '../in-code-stream.ts';

/**
 * The JSON/YAML form of a WebSocket stream (`type: websocket`): the stream's own fields, the live
 * feed (`websocket`) and the REST gap-fill (`poll`, the request side of an HTTP stream).
 */
const field = z.string().min(1, 'must be a non-empty field path');
const duration = z.union([
  z.number().int().min(0),
  z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)$/, 'must be like 500ms, 90s, 15m, 1h or 7d'),
]);
const positiveDuration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d*[1-9]\d*(\.\d+)?\s*(ms|s|m|h|d)$/, 'must be a positive duration like 500ms, 15s or 1m'),
]);

/** An absolute ws(s) URL. */
const socketUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a URL; write it like wss://feed.example.com/ws`,
    });
    return;
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    ctx.addIssue({ code: 'custom', message: `must start with ws:// or wss:// (got ${url.protocol}//)` });
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials: use tokenEnv' });
  }
});

export const webSocketConfigSchema = strictObject({
  url: socketUrl,
  subscribe: z.unknown().optional(),
  records: field.optional(),
  type: strictObject({
    path: field,
    values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1, 'must name at least one value'),
  }).optional(),
  closed: field.optional(),
  heartbeat: strictObject({
    interval: positiveDuration.optional(),
    timeout: positiveDuration.optional(),
  }).optional(),
  maxConnectionAge: positiveDuration.optional(),
  reconnect: strictObject({ base: positiveDuration.optional(), max: positiveDuration.optional() }).optional(),
  flush: strictObject({
    maxRecords: z.number().int().positive().optional(),
    maxWait: duration.optional(),
  }).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  tokenEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable')
    .optional(),
  tokenQuery: z.boolean().optional(),
});

export const webSocketStreamSchema = strictObject({
  ...streamIdentityFields,
  websocket: webSocketConfigSchema,
  poll: pollSchema,
});

/** Checks the object given to `websocket.stream({...})`: a ConfigError naming the stream and the field. */
export const validateWebSocketStream = inCodeValidator(webSocketStreamSchema, 'websocket.stream');
