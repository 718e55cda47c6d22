import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { duration, field, pollSchema, streamIdentityFields } from '../http/http-stream-schema.ts';
import { inCodeValidator } from '../in-code-stream.ts';
import { webhookSchemeSchema } from './webhook-signature.ts';

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable (the secret itself stays there)');

/** `webhook:` of a webhook stream (see `WebhookReceiveConfig`). */
export const webhookReceiveSchema = strictObject({
  scheme: webhookSchemeSchema,
  secretsEnv: z.union([envName, z.array(envName).min(1, 'must name at least one variable')]),
  tolerance: duration.optional(),
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024, 'must be at most 64 MiB')
    .optional(),
  eventId: field.optional(),
  eventType: field.optional(),
  eventTypeHeader: z.string().min(1).optional(),
  record: field.optional(),
  deleteTypes: z.array(z.string().min(1)).min(1).optional(),
  types: z.array(z.string().min(1)).min(1).optional(),
  fetch: z.boolean().optional(),
  duplicateStatus: z.union([z.literal(200), z.literal(409)], { error: 'must be 200 or 409' }).optional(),
});

/** The JSON/YAML form of a webhook stream (`type: webhook`). */
export const webhookStreamSchema = strictObject({
  ...streamIdentityFields,
  webhook: webhookReceiveSchema,
  poll: pollSchema.optional(),
  pageSize: z.number().int().positive().max(10_000, 'must be at most 10000').optional(),
});

/** Checks what `webhook.stream({...})` got in code: a ConfigError naming the stream and the field. */
export const validateWebhookStream = inCodeValidator(webhookStreamSchema, 'webhook.stream');
