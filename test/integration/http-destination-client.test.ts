import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, FatalError, TransientError } from '../../src/core/errors.ts';
import { type SimulatorServer, startSimulator } from '../../src/simulator/index.ts';
import {
  createHttpDestinationClient,
  type HttpDestinationClient,
  type HttpDestinationClientOptions,
} from '../../src/sinks/destinations/http-destination-client.ts';
import { idempotencyKey } from '../../src/sinks/destinations/record-map.ts';

const TOKEN = 'crm-token';
const signal = new AbortController().signal;
const ada = { stream: 'customers', key: 'cus_1', record: { id: 'cus_1', email: 'ada@example.com' } };
const keyOf = (version: string) =>
  idempotencyKey({ destination: 'crm', stream: 'customers', key: 'cus_1', version, hash: 'h' });

describe('the HTTP destination client against a CRM over loopback', () => {
  let sim: SimulatorServer;
  let client: HttpDestinationClient;
  const make = (extra: Partial<HttpDestinationClientOptions> = {}) =>
    createHttpDestinationClient({
      name: 'crm',
      baseUrl: `${sim.url}/crm`,
      headers: { authorization: `Bearer ${TOKEN}` },
      operations: {
        create: { path: '/contacts', idPath: 'id' },
        update: { path: '/contacts/{externalId}' },
        find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
        delete: { path: '/contacts/{externalId}' },
      },
      timeoutMs: 2000,
      allowPrivateTargets: true,
      ...extra,
    });
  beforeEach(async () => {
    sim = await startSimulator({ datasets: {}, crm: { token: TOKEN } });
    client = await make();
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  it('creates with the idempotency key, so a retried create gives the same object, not a second one', async () => {
    const payload = { email: 'ada@example.com', external_id: 'cus_1' };
    const first = await client.create(payload, keyOf('1'), ada, signal);
    const again = await client.create(payload, keyOf('1'), ada, signal);
    expect(first).toEqual({ ok: true, externalId: 'c_1' });
    expect(again).toEqual(first);
    expect(sim.crm.contacts()).toHaveLength(1);
    expect(sim.crm.requests().map((r) => r.idempotencyKey)).toEqual([keyOf('1'), keyOf('1')]);
    expect(await client.create(payload, keyOf('2'), ada, signal)).toEqual({ ok: true, externalId: 'c_2' });
  });

  it('finds an object by a templated query, and says none when there is none', async () => {
    expect(await client.find(ada, signal)).toBeNull();
    await client.create({ email: 'ada@example.com', external_id: 'cus_1' }, keyOf('1'), ada, signal);
    expect(await client.find(ada, signal)).toBe('c_1');
    expect(sim.crm.requests().at(-1)).toMatchObject({
      method: 'GET',
      path: '/crm/contacts?external_id=cus_1',
    });
  });

  it('updates and removes by external id; an update of a vanished object says gone, a remove of one is done', async () => {
    const created = await client.create({ email: 'ada@example.com' }, keyOf('1'), ada, signal);
    if (!created.ok) throw new Error('not created');
    expect(await client.update(created.externalId, { email: 'ada@lovelace.org' }, ada, signal)).toEqual(
      created,
    );
    expect(sim.crm.contacts().find((c) => c.id === 'c_1')?.email).toBe('ada@lovelace.org');
    expect(await client.remove('c_1', ada, signal)).toEqual({ ok: true, externalId: 'c_1' });
    expect(sim.crm.contacts()).toHaveLength(0);
    expect(await client.update('c_1', { email: 'x@example.com' }, ada, signal)).toEqual({
      ok: false,
      gone: true,
    });
    expect(await client.remove('c_1', ada, signal)).toEqual({ ok: true, externalId: 'c_1' });
    expect(sim.crm.requests().find((r) => r.method === 'PATCH')?.path).toBe('/crm/contacts/c_1');
  });

  it('refuses the record for good on a validation error, with the answer and without the credentials', async () => {
    const outcome = await client.create({ name: 'no email' }, keyOf('1'), ada, signal);
    expect(outcome).toEqual({
      ok: false,
      reason: expect.stringMatching(/^422 from 127\.0\.0\.1:\d+\/crm\/contacts: /),
    });
    expect(JSON.stringify(outcome)).toContain('email is required');
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
  });

  it('stops on 401 and 403 with what to check, and leaves 429 / 5xx to retries with the Retry-After', async () => {
    sim.crm.failNext({ status: 401 });
    const denied = await client.create({ email: 'a@example.com' }, keyOf('1'), ada, signal).catch((e) => e);
    expect(denied).toBeInstanceOf(FatalError);
    expect(String(denied.message)).toMatch(
      /destination "crm": POST 127\.0\.0\.1:\d+\/crm\/contacts answered 401: the destination refused the credentials/,
    );
    sim.crm.failNext({ status: 429, retryAfter: 1 });
    const throttled = await client
      .create({ email: 'a@example.com' }, keyOf('1'), ada, signal)
      .catch((e) => e);
    expect(throttled).toBeInstanceOf(TransientError);
    expect(throttled.retryAfterMs).toBe(1000);
    sim.crm.failNext({ status: 503 });
    expect(await client.find(ada, signal).catch((e) => e)).toBeInstanceOf(TransientError);
    expect(sim.crm.contacts()).toHaveLength(0);
  });

  it('refuses a loopback destination unless private targets are allowed', async () => {
    const refused = await make({ allowPrivateTargets: false }).catch((e) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect(String(refused.message)).toMatch(
      /^destination "crm": url http:\/\/127\.0\.0\.1:\d+\/crm\/: resolves to 127\.0\.0\.1, a loopback, private or link-local address; set allowPrivateTargets: true if that is meant$/,
    );
  });
});
