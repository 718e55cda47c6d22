import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../core/errors.ts';
import type { Store } from '../core/store.ts';
import { type ColumnType, viewColumns } from '../core/view-columns.ts';
import { contractSteps, type StoreHandle, write } from './store-contract-support.ts';

/**
 * The store's part of typed views (issue 18): `ensureStream` keeps `<stream>_v`, one typed column
 * per field of the live rows, recreated when the columns change and never over a relation of the
 * user's. Called by `describeStoreContract`, so both stores run it.
 */
export function describeTypedViewContract(title: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`Store contract (typed views): ${title}`, () => {
    let handle: StoreHandle;
    let store: Store;

    beforeEach(async () => {
      handle = await makeStore();
      store = handle.store;
    });
    afterEach(async () => {
      await handle.dispose();
    });

    const { lease, startedRun, commit } = contractSteps(() => store);
    const COLUMNS: Record<string, ColumnType> = {
      email: 'text',
      seats: 'integer',
      amount: 'numeric',
      active: 'boolean',
      created_at: 'timestamp',
      birthday: 'date',
      'address.city': 'text',
      tags: 'json',
    };
    const ensure = (columns: Record<string, ColumnType> = COLUMNS) =>
      store.ensureStream('people', { view: viewColumns('people', columns) });
    const record = (id: string, over: Record<string, unknown> = {}) =>
      JSON.stringify({
        id,
        email: `${id}@example.com`,
        seats: 3,
        amount: '12.50',
        active: true,
        created_at: '2026-03-01T10:00:00Z',
        birthday: '1990-05-17',
        address: { city: 'Lyon' },
        tags: ['a', 'b'],
        ...over,
      });

    async function commitPeople(): Promise<void> {
      const l = await lease('people');
      const runId = await startedRun(l);
      await store.commitPage(
        commit(l, runId, {
          writes: [
            write('a', { data: record('a') }),
            write('b', { data: record('b', { amount: 7, seats: '40', active: false, address: null }) }),
            write('gone', { data: record('gone'), kind: 'delete', deleted: true }),
          ],
        }),
      );
    }

    it('keeps a view of the live rows with one typed column per field, plus _key, _synced_at and _deleted_at', async () => {
      await ensure();
      await commitPeople();
      const rows = await handle.query('SELECT * FROM people_v ORDER BY _key');
      expect(rows.map((r) => Object.keys(r))).toEqual([
        [
          '_key',
          'email',
          'seats',
          'amount',
          'active',
          'created_at',
          'birthday',
          'address_city',
          'tags',
          '_synced_at',
          '_deleted_at',
        ],
        expect.any(Array),
      ]);
      const [a, b] = rows;
      expect(a).toMatchObject({ _key: 'a', email: 'a@example.com', address_city: 'Lyon', _deleted_at: null });
      expect(b).toMatchObject({ _key: 'b', address_city: null });
      // Numbers compare as numbers, booleans and times as such, in each store's own types.
      const [sums] = await handle.query(
        `SELECT sum(amount) AS total, sum(seats) AS seats, count(*) AS n FROM people_v
         WHERE active AND created_at > '2026-01-01' AND birthday < '2000-01-01'`,
      );
      expect(Number(sums?.total)).toBe(12.5);
      expect(Number(sums?.seats)).toBe(3);
      expect(Number(sums?.n)).toBe(1);
      const [numeric] = await handle.query("SELECT amount, seats FROM people_v WHERE _key = 'b'");
      expect(Number(numeric?.amount)).toBe(7);
      expect(Number(numeric?.seats)).toBe(40);
    });

    it('leaves an unchanged view alone, recreates it when the columns change, and drops it when there are none', async () => {
      await ensure();
      await commitPeople();
      await ensure();
      expect(await handle.query('SELECT email FROM people_v ORDER BY _key')).toHaveLength(2);
      await ensure({ email: 'text', seats: 'numeric', plan: 'text' });
      const rows = await handle.query('SELECT * FROM people_v ORDER BY _key');
      expect(Object.keys(rows[0]!)).toEqual(['_key', 'email', 'seats', 'plan', '_synced_at', '_deleted_at']);
      expect(rows[0]).toMatchObject({ plan: null });
      await store.ensureStream('people', { view: [] });
      await expect(handle.query('SELECT * FROM people_v')).rejects.toThrow(/people_v/);
      await store.ensureStream('people');
    });

    it("refuses a table or view of that name that is not Syncline's, and changes nothing", async () => {
      await store.ensureStream('people');
      await handle.query('CREATE VIEW people_v AS SELECT _key FROM people');
      const refused = ensure();
      await expect(refused).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(ensure()).rejects.toThrow(
        /a view named "people_v" .* is not Syncline's typed view of stream "people"/,
      );
      expect(Object.keys((await handle.query('SELECT * FROM people_v'))[0] ?? { _key: 1 })).toEqual(['_key']);
      await handle.query('DROP VIEW people_v');
      await handle.query('CREATE TABLE people_v (x text)');
      await expect(ensure()).rejects.toThrow(/a table named "people_v"/);
    });
  });
}
