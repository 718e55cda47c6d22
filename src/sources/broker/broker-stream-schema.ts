import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { duration, field, streamIdentityFields } from '../http/http-stream-schema.ts';
import { inCodeValidator } from '../in-code-stream.ts';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable (the secret itself stays there)');
const name = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" and "-"');
const start = z.enum(['first', 'new'], { error: 'must be first or new' });

/**
 * An absolute URL of one of `protocols`. It may carry credentials when they come from the
 * environment (`url: ${NATS_URL}` in YAML); they are never shown. `urlEnv` names the variable instead.
 */
function brokerUrl(protocols: readonly string[], example: string) {
  return z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `is not a URL; write it like ${example}` });
      return;
    }
    if (!protocols.includes(url.protocol)) {
      ctx.addIssue({
        code: 'custom',
        message: `must start with ${protocols.map((p) => `${p}//`).join(' or ')} (got ${url.protocol}//)`,
      });
    }
  });
}

const onlyOneUrl = (value: { url?: unknown; urlEnv?: unknown }) =>
  value.url === undefined || value.urlEnv === undefined;
const oneUrlMessage = { message: 'give url or urlEnv, not both', path: ['urlEnv'] };

export const natsBrokerSchema = strictObject({
  url: brokerUrl(['nats:', 'tls:'], 'nats://127.0.0.1:4222').optional(),
  urlEnv: envName.optional(),
  tokenEnv: envName.optional(),
  userEnv: envName.optional(),
  passwordEnv: envName.optional(),
  stream: name,
  subject: z
    .string()
    .regex(/^[^\s]+$/, 'must be a NATS subject (no spaces; * and > allowed)')
    .optional(),
  durable: name.optional(),
  start: start.optional(),
  ackWait: duration.optional(),
  maxAckPending: z.number().int().positive().optional(),
})
  .refine(onlyOneUrl, oneUrlMessage)
  .refine((value) => (value.userEnv === undefined) === (value.passwordEnv === undefined), {
    message: 'userEnv and passwordEnv go together',
    path: ['passwordEnv'],
  })
  .refine((value) => value.tokenEnv === undefined || value.userEnv === undefined, {
    message: 'give tokenEnv or userEnv + passwordEnv, not both',
    path: ['tokenEnv'],
  });

export const redisBrokerSchema = strictObject({
  url: brokerUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').optional(),
  urlEnv: envName.optional(),
  key: z.string().min(1, 'must name the Redis stream key'),
  group: z.string().min(1).optional(),
  consumer: z.string().min(1).optional(),
  start: start.optional(),
  field: z.string().min(1).optional(),
}).refine(onlyOneUrl, oneUrlMessage);

/** Exactly one broker. */
export const brokerSchema = strictObject({
  nats: natsBrokerSchema.optional(),
  redis: redisBrokerSchema.optional(),
}).refine((value) => (value.nats === undefined) !== (value.redis === undefined), {
  message: 'must name exactly one broker: { nats: { stream, ... } } or { redis: { key, ... } }',
});

/** The JSON/YAML form of a broker stream (`type: broker`). */
export const brokerStreamSchema = strictObject({
  ...streamIdentityFields,
  broker: brokerSchema,
  format: z.enum(['debezium', 'json'], { error: 'must be debezium or json' }),
  record: field.optional(),
  pageSize: z.number().int().positive().max(10_000, 'must be at most 10000').optional(),
  idle: duration.optional(),
});

/** Checks the object given to `broker.stream({...})`: a ConfigError naming the stream and the field. */
export const validateBrokerStream = inCodeValidator(brokerStreamSchema, 'broker.stream');
