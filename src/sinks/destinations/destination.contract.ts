import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  Destination,
  DestinationItem,
  DestinationMode,
  DestinationResult,
} from '../../core/destination.ts';

/** A contact as the target holds it: its fields, the record's key in `external_id`. */
export type TargetObject = Readonly<Record<string, unknown>> & { readonly external_id?: unknown };

/**
 * The API a destination under test writes to, and what the contract needs to see and steer of it.
 * The contract's payloads are `{ email, name, external_id }` with `external_id` = the record's key:
 * a destination may rely on that field to find or upsert an object.
 */
export interface DestinationTarget {
  readonly destination: Destination;
  /** Every object the API holds, by its id. */
  objects(): Promise<ReadonlyMap<string, TargetObject>>;
  /** From now on the API refuses (a validation error) records with this email. */
  refuse(email: string): Promise<void>;
  /** From now on every write takes effect but its answer is lost (`true`), or not (`false`). */
  loseAnswers(on: boolean): Promise<void>;
  /** From now on every request fails as an outage would (5xx) before doing anything, or not. */
  outage(on: boolean): Promise<void>;
  close(): Promise<void>;
}

const signal = new AbortController().signal;

/** An upsert of `key` with payload `{ email, name, external_id: key }`. */
function upsert(key: string, name: string, externalId: string | null = null): DestinationItem {
  const payload = { email: `${key}@example.com`, name, external_id: key };
  return {
    op: 'upsert',
    stream: 'customers',
    key,
    externalId,
    payload,
    record: { id: key, ...payload },
    idempotencyKey: `contract-${key}-${name}`,
  };
}

function remove(key: string, externalId: string | null): DestinationItem {
  return {
    op: 'delete',
    stream: 'customers',
    key,
    externalId,
    payload: null,
    record: null,
    idempotencyKey: `contract-${key}-delete`,
  };
}

/**
 * What every destination (the HTTP one in each of its ways, a custom one) must do, whatever it
 * writes to: one result per item in order; an object per key, never two, even when a write's
 * answer was lost or the map forgot the id; updates by id; refusals that touch only their record;
 * retries (not failures) for an outage; deletes that hold when repeated.
 */
export function describeDestinationContract(
  title: string,
  makeTarget: () => Promise<DestinationTarget>,
  options: { readonly mode?: DestinationMode; readonly deletes?: boolean } = {},
): void {
  describe(`Destination contract: ${title}`, () => {
    let target: DestinationTarget;
    const context = { destination: 'contract', mode: options.mode ?? 'upsert', signal };
    const write = (items: DestinationItem[]) => target.destination.write(items, context);
    /** The objects by their `external_id` (each a list: more than one is a duplicate). */
    const byKey = async () => {
      const out = new Map<string, { id: string; object: TargetObject }[]>();
      for (const [id, object] of await target.objects()) {
        const key = String(object.external_id);
        out.set(key, [...(out.get(key) ?? []), { id, object }]);
      }
      return out;
    };
    const okIds = (results: readonly DestinationResult[]) =>
      results.map((r) => {
        expect(r.status).toBe('ok');
        return (r as { externalId: string }).externalId;
      });

    beforeEach(async () => {
      target = await makeTarget();
    });
    afterEach(async () => {
      await target.close();
    });

    it('writes each item and answers one result per item, in order, with the id of its object', async () => {
      const keys = ['k1', 'k2', 'k3', 'k4', 'k5'];
      const ids = okIds(await write(keys.map((k) => upsert(k, `name ${k}`))));
      expect(new Set(ids).size).toBe(5);
      const objects = await target.objects();
      expect(objects.size).toBe(5);
      keys.forEach((key, i) => {
        expect(objects.get(ids[i]!)).toMatchObject({
          email: `${key}@example.com`,
          name: `name ${key}`,
          external_id: key,
        });
      });
    });

    it('changes the object it knows by id, and finds the one it forgot, without making another', async () => {
      const [id1, id2] = okIds(await write([upsert('k1', 'first'), upsert('k2', 'first')]));
      // k1 by its id; k2 as if the map lost it.
      const again = okIds(await write([upsert('k1', 'second', id1!), upsert('k2', 'second')]));
      expect(again).toEqual([id1, id2]);
      const objects = await target.objects();
      expect(objects.size).toBe(2);
      expect(objects.get(id1!)).toMatchObject({ name: 'second' });
      expect(objects.get(id2!)).toMatchObject({ name: 'second' });
    });

    it('never makes a second object when a write took effect but its answer was lost', async () => {
      await target.loseAnswers(true);
      const lost = await write([upsert('k1', 'v1'), upsert('k2', 'v1')]);
      expect(lost.map((r) => r.status)).toEqual(['retry', 'retry']);
      await target.loseAnswers(false);
      // The retry: the same items (same idempotency keys), no id known.
      const ids = okIds(await write([upsert('k1', 'v1'), upsert('k2', 'v1')]));
      const keys = await byKey();
      expect([...keys.keys()].sort()).toEqual(['k1', 'k2']);
      expect(keys.get('k1')!.map((o) => o.id)).toEqual([ids[0]]);
      expect(keys.get('k2')!.map((o) => o.id)).toEqual([ids[1]]);
    });

    it('refuses only the record the API refuses, and writes the rest', async () => {
      await target.refuse('k2@example.com');
      const results = await write([upsert('k1', 'a'), upsert('k2', 'a'), upsert('k3', 'a')]);
      expect(results.map((r) => r.status)).toEqual(['ok', 'fail', 'ok']);
      expect((results[1] as { reason: string }).reason.length).toBeGreaterThan(0);
      expect([...(await byKey()).keys()].sort()).toEqual(['k1', 'k3']);
    });

    it('answers retry (not fail) while the API is out, and writes nothing', async () => {
      await target.outage(true);
      const results = await write([upsert('k1', 'a'), upsert('k2', 'a')]);
      expect(results.map((r) => r.status)).toEqual(['retry', 'retry']);
      await target.outage(false);
      expect((await target.objects()).size).toBe(0);
    });

    if (options.deletes !== false) {
      it('deletes an object by id, and a delete repeated (the object gone already) is done too', async () => {
        const [id1, id2] = okIds(await write([upsert('k1', 'a'), upsert('k2', 'a')]));
        expect(okIds(await write([remove('k1', id1!)]))).toEqual([id1]);
        expect(okIds(await write([remove('k1', id1!)]))).toEqual([id1]);
        const objects = await target.objects();
        expect([...objects.keys()]).toEqual([id2]);
      });

      it('deletes the object of a key the map does not know (its create answered nothing), and skips one with none', async () => {
        const [created] = okIds(await write([upsert('k1', 'a')]));
        // As after a create whose answer was lost: Syncline has no id for k1.
        const [removed, none] = await write([remove('k1', null), remove('k9', null)]);
        expect(removed).toEqual({ status: 'ok', externalId: created });
        expect(none!.status).toBe('skipped');
        expect((await target.objects()).size).toBe(0);
      });
    }
  });
}
