import { z } from 'zod';
import { strictObject } from '../../core/strict-object.ts';
import { streamIdentityFields } from '../http/http-stream-schema.ts';
import { inCodeValidator } from '../in-code-stream.ts';

const oneChar = z.string().length(1, 'must be one character');

/** `file:` of a file stream (see `FileConfig`). */
export const fileConfigSchema = strictObject({
  path: z.string().min(1, 'must be a file path').optional(),
  glob: z.string().min(1, 'must be a glob such as exports/*.csv').optional(),
  format: z.enum(['csv', 'ndjson', 'json'], { error: 'must be csv, ndjson or json' }),
  delimiter: oneChar.optional(),
  quote: oneChar.optional(),
  header: z
    .union([z.boolean(), z.array(z.string().min(1)).min(1, 'must name at least one field')])
    .optional(),
  encoding: z
    .enum(['utf8', 'utf-8', 'latin1', 'utf16le'], { error: 'must be utf8, latin1 or utf16le' })
    .optional(),
  onMissingFile: z.enum(['ignore', 'reconcile'], { error: 'must be ignore or reconcile' }).optional(),
  pageSize: z.number().int().positive().max(10_000, 'must be at most 10000').optional(),
}).superRefine((value, ctx) => {
  if ((value.path === undefined) === (value.glob === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give either path or glob (one of them)', path: ['path'] });
  }
  if (value.format !== 'csv') {
    for (const name of ['delimiter', 'quote', 'header'] as const) {
      if (value[name] !== undefined) {
        ctx.addIssue({ code: 'custom', message: `only a csv file has a ${name}`, path: [name] });
      }
    }
  }
  if (value.header === false) {
    ctx.addIssue({
      code: 'custom',
      message: 'a file without a header row needs the field names: header: [id, name, ...]',
      path: ['header'],
    });
  }
});

/** The JSON/YAML form of a file stream (`type: file`). */
export const fileStreamSchema = strictObject({
  ...streamIdentityFields,
  file: fileConfigSchema,
});

/** Checks what `file.stream({...})` got in code: a ConfigError naming the stream and the field. */
export const validateFileStream = inCodeValidator(fileStreamSchema, 'file.stream');
