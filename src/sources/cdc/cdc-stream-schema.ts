import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { streamIdentityFields } from '../http/http-stream-schema.ts';
import { inCodeValidator } from '../in-code-stream.ts';

/** A PostgreSQL identifier as Syncline accepts it unquoted: letters, digits, `_`, `$`. */
const identifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export const cdcConfigSchema = strictObject({
  urlEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable'),
  table: z
    .string()
    .regex(
      /^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/,
      'must be a table name like orders or sales.orders (letters, digits, _)',
    ),
  slot: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'must be lower-case letters, digits and _ (a replication slot name)')
    .optional(),
  publication: z.string().regex(identifier, 'must be a publication name (letters, digits, _)').optional(),
  onTruncate: z.enum(['tombstone', 'ignore']).optional(),
  snapshotPageSize: z.number().int().positive().optional(),
  maxSlotLag: z
    .union([
      z.number().int().positive(),
      z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB)$/i, 'must be a size like 512MB or 2GB'),
    ])
    .optional(),
});

const { cursor: _cursor, version: _version, ...identity } = streamIdentityFields;

export const cdcStreamSchema = strictObject({
  ...identity,
  cdc: cdcConfigSchema,
  pageSize: z.number().int().positive().optional(),
});

/** Checks the object given to `cdc.stream({...})`: a ConfigError naming the stream and the field. */
export const validateCdcStream = inCodeValidator(cdcStreamSchema, 'cdc.stream');
