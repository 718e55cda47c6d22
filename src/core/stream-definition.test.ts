import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineStream, keyFields } from './stream-definition.ts';

describe('defineStream', () => {
  it('checks field names against the schema output and the source record type (compile time)', () => {
    const schema = z.object({ id: z.number(), updated_at: z.string(), nested: z.object({ x: z.number() }) });
    const ok = defineStream({ name: 's', key: 'id', cursor: 'updated_at', schema, async *source() {} });
    defineStream({ name: 's', key: ['id', 'nested.x'], schema, async *source() {} });
    // @ts-expect-error 'nope' is not a field of the schema's output
    defineStream({ name: 's', key: 'nope', schema, async *source() {} });
    defineStream({
      name: 's',
      key: 'sku',
      async *source() {
        yield { records: [{ sku: 'a', qty: 1 }], checkpoint: null };
      },
    });
    defineStream({
      name: 's',
      // @ts-expect-error 'id' is not a field of the records the source yields
      key: 'id',
      async *source() {
        yield { records: [{ sku: 'a' }], checkpoint: null };
      },
    });
    expect(keyFields(ok)).toEqual(['id']);
  });
});
