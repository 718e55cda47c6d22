import { z } from 'zod';
import type { SynclineConfig } from '../config/define-config.ts';
import { defineStream } from '../core/stream-definition.ts';

/**
 * The built-in demo: two streams generated in-process, deterministic, so a second run writes
 * nothing. Every 997th customer has an invalid email, to show dead letters.
 */
export function demoConfig(records = 5000, pageSize = 250): SynclineConfig {
  const customer = z.object({
    id: z.number().int(),
    email: z.email(),
    name: z.string(),
    country: z.string().length(2),
    updated_at: z.iso.datetime(),
    version: z.number().int(),
  });
  const order = z.object({
    customer_id: z.number().int(),
    order_no: z.number().int(),
    status: z.enum(['placed', 'paid', 'shipped']),
    total_cents: z.number().int(),
    updated_at: z.iso.datetime(),
  });
  const countries = ['DE', 'FR', 'US', 'JP', 'BR', 'IN', 'NG', 'SE'];
  const base = Date.parse('2026-01-01T00:00:00Z');
  return {
    streams: [
      defineStream({
        name: 'customers',
        key: 'id',
        cursor: 'updated_at',
        version: 'version',
        schema: customer,
        source: pagesOf(records, pageSize, (i) => ({
          id: i + 1,
          email: i % 997 === 996 ? `customer${i + 1}-at-example.com` : `customer${i + 1}@example.com`,
          name: `Customer ${i + 1}`,
          country: countries[i % countries.length],
          updated_at: new Date(base + i * 60_000).toISOString(),
          version: 1,
        })),
      }),
      defineStream({
        name: 'orders',
        key: ['customer_id', 'order_no'],
        cursor: 'updated_at',
        schema: order,
        source: pagesOf(records * 2, pageSize, (i) => ({
          customer_id: (i % records) + 1,
          order_no: Math.floor(i / records) + 1,
          status: (['placed', 'paid', 'shipped'] as const)[i % 3],
          total_cents: 100 + ((i * 7919) % 50_000),
          updated_at: new Date(base + i * 30_000).toISOString(),
        })),
      }),
    ],
  };
}

/** A source that yields `count` generated records in pages, resuming after `{ after: n }`. */
function pagesOf(count: number, pageSize: number, make: (i: number) => object) {
  return async function* ({ checkpoint }: { checkpoint: unknown }) {
    let next = (checkpoint as { after?: number } | null)?.after ?? 0;
    while (next < count) {
      const end = Math.min(count, next + pageSize);
      const records = [];
      for (let i = next; i < end; i++) records.push(make(i));
      next = end;
      yield { records, checkpoint: { after: next } };
    }
  };
}
