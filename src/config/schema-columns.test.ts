import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { columnsFromSchema } from './schema-columns.ts';

describe('columnsFromSchema', () => {
  it("reads a zod object's top-level fields as column types", () => {
    const schema = z.object({
      id: z.number().int(),
      email: z.email(),
      amount: z.number(),
      active: z.boolean().optional(),
      created_at: z.iso.datetime(),
      birthday: z.iso.date().nullable(),
      plan: z.enum(['free', 'pro']),
      meta: z.object({ a: z.string() }),
      tags: z.array(z.string()),
      'first-name': z.string(),
      _internal: z.string(),
    });
    expect(columnsFromSchema(schema)).toEqual({
      id: 'integer',
      email: 'text',
      amount: 'numeric',
      active: 'boolean',
      created_at: 'timestamp',
      birthday: 'date',
      plan: 'text',
      meta: 'json',
      tags: 'json',
    });
  });

  it('gives nothing for a schema that is not a zod object', () => {
    expect(columnsFromSchema(z.string())).toBeNull();
    expect(
      columnsFromSchema({ '~standard': { vendor: 'valibot', version: 1, validate: () => ({}) } }),
    ).toBeNull();
    expect(columnsFromSchema(undefined)).toBeNull();
  });
});
