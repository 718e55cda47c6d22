import { describe, expect, it } from 'vitest';
import type { CrmContact, CrmPatch, CrmStats, SimulatorServer } from './index.ts';
import { simulatorsForEachTest } from './simulator-test-client.ts';

const start = simulatorsForEachTest();

/** No pulled datasets: these tests only talk to the CRM. */
async function crm(crmOptions: CrmPatch = {}, seed = 1): Promise<SimulatorServer> {
  return start({ seed, datasets: {}, crm: crmOptions });
}

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON of many shapes, checked field by field.
  body: any;
}

/** One request over loopback HTTP; rejects when the connection fails (reset, lost answer). */
async function call(
  sim: SimulatorServer,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

async function admin<T>(sim: SimulatorServer, path: string, body?: unknown): Promise<T> {
  const res = await call(sim, body === undefined ? 'GET' : 'POST', `/_admin/crm${path}`, body);
  expect(res.status).toBe(200);
  return res.body as T;
}

async function groundTruth(sim: SimulatorServer): Promise<CrmContact[]> {
  return (await admin<{ contacts: CrmContact[] }>(sim, '/contacts')).contacts;
}

/** What a request looked like to the client: the status, or `error` when no answer came. */
async function outcome(sim: SimulatorServer, method: string, path: string, body?: unknown): Promise<string> {
  try {
    return String((await call(sim, method, path, body)).status);
  } catch {
    return 'error';
  }
}

describe('simulator CRM', () => {
  it('creates, finds, patches, puts and deletes contacts', async () => {
    const sim = await crm();
    const created = await call(sim, 'POST', '/crm/contacts', {
      email: 'ada@example.com',
      external_id: 'cus_1',
      name: 'Ada',
      id: 'forged',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'c_1',
      email: 'ada@example.com',
      external_id: 'cus_1',
      name: 'Ada',
    });
    expect(Date.parse(created.body.created_at)).toBeGreaterThan(0);
    expect(created.body.updated_at).toBe(created.body.created_at);
    const second = await call(sim, 'POST', '/crm/contacts', {
      email: 'bob@example.com',
      external_id: 'cus_2',
    });
    expect(second.body.id).toBe('c_2');

    const found = await call(sim, 'GET', '/crm/contacts?external_id=cus_2');
    expect(found.status).toBe(200);
    expect(found.body.results.map((c: CrmContact) => c.id)).toEqual(['c_2']);
    expect((await call(sim, 'GET', '/crm/contacts?external_id=nobody')).body).toEqual({ results: [] });
    expect((await call(sim, 'GET', '/crm/contacts/c_1')).body.name).toBe('Ada');

    await new Promise((resolve) => setTimeout(resolve, 5));
    const patched = await call(sim, 'PATCH', '/crm/contacts/c_1', {
      name: 'Ada L.',
      id: 'c_9',
      created_at: 'x',
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: 'c_1', email: 'ada@example.com', name: 'Ada L.' });
    expect(patched.body.created_at).toBe(created.body.created_at);
    expect(patched.body.updated_at > created.body.updated_at).toBe(true);

    const put = await call(sim, 'PUT', '/crm/contacts/c_1', {
      email: 'ada@new.example',
      external_id: 'cus_1',
    });
    expect(put.status).toBe(200);
    expect(put.body.name).toBeUndefined();
    expect(put.body).toMatchObject({
      id: 'c_1',
      email: 'ada@new.example',
      created_at: created.body.created_at,
    });

    expect((await call(sim, 'DELETE', '/crm/contacts/c_2')).status).toBe(204);
    const missing = await call(sim, 'GET', '/crm/contacts/c_2');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expect((await call(sim, 'DELETE', '/crm/contacts/c_2')).status).toBe(404);
    expect((await call(sim, 'PATCH', '/crm/contacts/c_2', { name: 'x' })).status).toBe(404);
    expect((await call(sim, 'GET', '/crm/contacts?external_id=cus_2')).body.results).toEqual([]);

    const truth = await groundTruth(sim);
    expect(truth).toEqual([put.body]);
    expect(sim.crm.contacts()).toEqual(truth);
    const stats = await admin<CrmStats>(sim, '/stats');
    expect(stats).toMatchObject({ creates: 2, updates: 2, deletes: 1, idempotentReplays: 0 });
    expect(stats.requests['POST /crm/contacts']).toBe(2);
    expect(stats.requests['PATCH /crm/contacts/:id']).toBe(2);
    expect(stats.statuses['404']).toBe(3);
  });

  it('upserts a batch by external_id with index-aligned results', async () => {
    const sim = await crm({ maxBatch: 4, reject: { emails: ['bad@example.com'] } });
    await call(sim, 'POST', '/crm/contacts', { email: 'a@example.com', external_id: 'e1', plan: 'free' });
    const batch = await call(sim, 'POST', '/crm/contacts/batch', {
      inputs: [
        { external_id: 'e1', plan: 'pro' },
        { external_id: 'e2', email: 'b@example.com' },
        { email: 'no-key@example.com' },
        { external_id: 'e3', email: 'bad@example.com' },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results).toEqual([
      { id: 'c_1', external_id: 'e1', status: 'updated' },
      { id: 'c_2', external_id: 'e2', status: 'created' },
      { external_id: null, error: { code: 'validation', message: 'external_id is required' } },
      { external_id: 'e3', error: { code: 'validation', message: 'email bad@example.com is rejected' } },
    ]);
    expect(sim.crm.contacts().map((c) => [c.id, c.external_id, c.plan ?? null])).toEqual([
      ['c_1', 'e1', 'pro'],
      ['c_2', 'e2', null],
    ]);
    const tooMany = await call(sim, 'POST', '/crm/contacts/batch', {
      inputs: Array.from({ length: 5 }, (_, i) => ({ external_id: `x${i}`, email: 'x@example.com' })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toContain('at most 4');
    expect(sim.crm.contacts()).toHaveLength(2);
  });

  it('replays an Idempotency-Key when idempotency is on, and creates twice when off', async () => {
    const sim = await crm();
    const key = { 'Idempotency-Key': 'k-1' };
    const first = await call(sim, 'POST', '/crm/contacts', { email: 'a@example.com' }, key);
    const again = await call(sim, 'POST', '/crm/contacts', { email: 'a@example.com' }, key);
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body).toEqual(first.body);
    expect(sim.crm.contacts()).toHaveLength(1);
    expect(sim.crm.stats().idempotentReplays).toBe(1);

    expect(await admin(sim, '', { idempotency: false })).toMatchObject({ idempotency: false });
    const k2 = { 'Idempotency-Key': 'k-2' };
    const one = await call(sim, 'POST', '/crm/contacts', { email: 'b@example.com' }, k2);
    const two = await call(sim, 'POST', '/crm/contacts', { email: 'b@example.com' }, k2);
    expect([one.status, two.status]).toEqual([201, 201]);
    expect([one.body.id, two.body.id]).toEqual(['c_2', 'c_3']);
    expect(sim.crm.contacts()).toHaveLength(3);
    expect(sim.crm.stats()).toMatchObject({ creates: 3, idempotentReplays: 1 });
  });

  it('answers 422 for a missing email and for the reject set, until the set is cleared', async () => {
    const sim = await crm({ reject: { emails: ['blocked@example.com'], externalIds: ['cus_bad'] } });
    const noEmail = await call(sim, 'POST', '/crm/contacts', { name: 'x' });
    expect(noEmail.status).toBe(422);
    expect(noEmail.body).toEqual({ error: { code: 'validation', message: 'email is required' } });
    expect((await call(sim, 'POST', '/crm/contacts', { email: 42 })).status).toBe(422);
    expect((await call(sim, 'POST', '/crm/contacts', { email: 'blocked@example.com' })).status).toBe(422);
    const badId = await call(sim, 'POST', '/crm/contacts', {
      email: 'ok@example.com',
      external_id: 'cus_bad',
    });
    expect(badId.status).toBe(422);
    expect(badId.body.error.message).toBe('external_id cus_bad is rejected');
    expect(sim.crm.contacts()).toEqual([]);

    const ok = await call(sim, 'POST', '/crm/contacts', { email: 'ok@example.com' });
    expect(ok.status).toBe(201);
    // The merged contact is validated: a PATCH that blocks the email, or a PUT without one, is refused.
    expect((await call(sim, 'PATCH', '/crm/contacts/c_1', { email: 'blocked@example.com' })).status).toBe(
      422,
    );
    expect((await call(sim, 'PUT', '/crm/contacts/c_1', { name: 'no email' })).status).toBe(422);
    expect(sim.crm.contacts()[0]!.email).toBe('ok@example.com');

    expect(await admin(sim, '', { reject: {} })).toMatchObject({ reject: { emails: [], externalIds: [] } });
    expect((await call(sim, 'POST', '/crm/contacts', { email: 'blocked@example.com' })).status).toBe(201);
    expect(
      (await call(sim, 'POST', '/crm/contacts', { email: 'x@example.com', external_id: 'cus_bad' })).status,
    ).toBe(201);
    expect(sim.crm.contacts()).toHaveLength(3);

    expect((await call(sim, 'POST', '/crm/contacts', '{not json')).status).toBe(400);
    expect((await call(sim, 'POST', '/crm/contacts', [1, 2])).status).toBe(400);
    const huge = await call(sim, 'POST', '/crm/contacts', {
      email: 'h@example.com',
      pad: 'x'.repeat(70_000),
    });
    expect(huge.status).toBe(413);
    expect(sim.crm.contacts()).toHaveLength(3);
  });

  it('needs the bearer token when one is set, before anything else', async () => {
    const sim = await crm({ token: 'secret', faults: { serverError: 1 } });
    for (const headers of [{}, { Authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const res = await call(sim, 'POST', '/crm/contacts', { email: 'a@example.com' }, headers);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    expect((await call(sim, 'GET', '/crm/contacts/c_1')).status).toBe(401);
    // Past auth, the injected fault applies: auth came first.
    expect(
      [500, 503].includes(
        (
          await call(
            sim,
            'POST',
            '/crm/contacts',
            { email: 'a@example.com' },
            { Authorization: 'Bearer secret' },
          )
        ).status,
      ),
    ).toBe(true);
    sim.crm.configure({ faults: { serverError: 0 } });
    const ok = await call(
      sim,
      'POST',
      '/crm/contacts',
      { email: 'a@example.com' },
      { Authorization: 'Bearer secret' },
    );
    expect(ok.status).toBe(201);
    expect(sim.crm.stats().faults).toMatchObject({ unauthorized: 3, serverError: 1 });
    // Admin routes are never subject to auth.
    expect(await groundTruth(sim)).toHaveLength(1);
  });

  it('limits each credential with a token bucket and measures the request rate', async () => {
    const sim = await crm({ rateLimit: { capacity: 5, refillPerSecond: 1 } });
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) {
      answers.push(
        await call(
          sim,
          'POST',
          '/crm/contacts',
          { email: `u${i}@example.com` },
          { Authorization: 'Bearer a' },
        ),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[0]!.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(answers[4]!.headers.get('x-ratelimit-remaining')).toBe('0');
    const limited = answers[5]!;
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(
      Math.floor(Date.now() / 1000),
    );
    expect(limited.body.error.code).toBe('rate_limited');
    // Another credential has its own bucket.
    expect((await call(sim, 'GET', '/crm/contacts', undefined, { Authorization: 'Bearer b' })).status).toBe(
      200,
    );
    expect(sim.crm.contacts()).toHaveLength(5);
    const stats = sim.crm.stats();
    expect(stats.faults.clientLimit).toBe(3);
    expect(stats.maxRequestsPerSecond).toBeGreaterThanOrEqual(5);
    expect(stats.maxRequestsPerSecond).toBeLessThanOrEqual(9);
    expect(stats.statuses).toEqual({ '201': 5, '429': 3, '200': 1 });

    const burst = await crm();
    await Promise.all(Array.from({ length: 30 }, () => call(burst, 'GET', '/crm/contacts')));
    expect(burst.crm.stats().maxRequestsPerSecond).toBe(30);
  });

  it('loses the answer of a write that took effect (socket error or 504)', async () => {
    const sim = await crm({ faults: { lostResponse: 1 } });
    await expect(
      call(sim, 'POST', '/crm/contacts', { email: 'lost@example.com', external_id: 'e1' }),
    ).rejects.toThrow();
    expect((await groundTruth(sim)).map((c) => c.external_id)).toEqual(['e1']);
    // A GET has no effect to keep; it only fails.
    await expect(call(sim, 'GET', '/crm/contacts?external_id=e1')).rejects.toThrow();

    await admin(sim, '', { faults: { lostResponse: 0, lostResponse504: 1 } });
    const timedOut = await call(sim, 'PATCH', '/crm/contacts/c_1', { name: 'kept' });
    expect(timedOut.status).toBe(504);
    expect(timedOut.body.error.code).toBe('gateway_timeout');
    const del = await call(sim, 'POST', '/crm/contacts/batch', {
      inputs: [{ external_id: 'e2', email: 'b@example.com' }],
    });
    expect(del.status).toBe(504);
    expect((await groundTruth(sim)).map((c) => [c.external_id, c.name ?? null])).toEqual([
      ['e1', 'kept'],
      ['e2', null],
    ]);
    expect(sim.crm.stats().faults).toMatchObject({ lostResponse: 2, lostResponse504: 2 });
  });

  it('draws the same faults for the same seed and request sequence', async () => {
    const faults = {
      serverError: 0.15,
      rateLimit: 0.15,
      reset: 0.1,
      lostResponse: 0.1,
      lostResponse504: 0.1,
    };
    const runs: { outcomes: string[]; truth: string[] }[] = [];
    for (const seed of [5, 5, 6]) {
      const sim = await crm({ faults }, seed);
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        outcomes.push(
          await outcome(sim, 'POST', '/crm/contacts', { email: `u${i}@example.com`, external_id: `e${i}` }),
        );
      }
      runs.push({ outcomes, truth: sim.crm.contacts().map((c) => String(c.external_id)) });
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.outcomes).not.toEqual(runs[2]!.outcomes);
    expect(new Set(runs[0]!.outcomes)).toEqual(new Set(['201', '429', '500', '503', '504', 'error']));
    // Lost answers and 504s still created; 5xx, 429 and resets did not.
    const tookEffect = runs[0]!.outcomes.filter((o) => o === '201' || o === '504').length;
    expect(runs[0]!.truth.length).toBeGreaterThan(tookEffect);

    // A reset re-seeds the fault stream: the same requests see the same faults again.
    const sim = await crm({ faults }, 5);
    const first: string[] = [];
    for (let i = 0; i < 10; i++) first.push(await outcome(sim, 'GET', '/crm/contacts'));
    await admin(sim, '/reset', {});
    const second: string[] = [];
    for (let i = 0; i < 10; i++) second.push(await outcome(sim, 'GET', '/crm/contacts'));
    expect(second).toEqual(first);
  });

  it('delays slow answers and resets contacts, keys and stats from admin', async () => {
    const sim = await crm({ faults: { slow: 1, slowMs: 150 } });
    const t0 = performance.now();
    const slow = await call(
      sim,
      'POST',
      '/crm/contacts',
      { email: 'a@example.com' },
      { 'Idempotency-Key': 'k' },
    );
    expect(slow.status).toBe(201);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await admin(sim, '')).toMatchObject({
      faults: { slow: 1, slowMs: 150 },
      idempotency: true,
      token: null,
    });
    await expect(admin(sim, '', { faults: { slow: 0.8, reset: 0.5 } })).rejects.toThrow();
    const bad = await call(sim, 'POST', '/_admin/crm', { maxBatch: 0 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('maxBatch');
    await admin(sim, '', { faults: { slow: 0 } });

    expect(await admin(sim, '/reset', {})).toEqual({ ok: true });
    expect(await groundTruth(sim)).toEqual([]);
    expect(sim.crm.stats()).toMatchObject({
      creates: 0,
      requests: {},
      statuses: {},
      maxRequestsPerSecond: 0,
    });
    const again = await call(
      sim,
      'POST',
      '/crm/contacts',
      { email: 'a@example.com' },
      { 'Idempotency-Key': 'k' },
    );
    expect(again.status).toBe(201);
    expect(again.body.id).toBe('c_1');
  });

  it('answers after latencyMs without holding up other requests', async () => {
    const sim = await crm();
    await admin(sim, '', { latencyMs: 100 });
    const began = performance.now();
    const took = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const sent = performance.now();
        const res = await call(sim, 'POST', '/crm/contacts', { email: `p${i}@example.com` });
        expect(res.status).toBe(201);
        return performance.now() - sent;
      }),
    );
    const total = performance.now() - began;
    // Timers may fire a millisecond early by the wall clock's rounding: 99 is still 100.
    for (const ms of took) expect(ms).toBeGreaterThanOrEqual(99);
    expect(total).toBeLessThan(1000);
    expect(await groundTruth(sim)).toHaveLength(20);
  });

  it('logs the last 1,000 requests with the idempotency key and whether auth was given and valid, never the token', async () => {
    const sim = await crm({ token: 'secret' });
    const auth = { Authorization: 'Bearer secret' };
    await call(
      sim,
      'POST',
      '/crm/contacts',
      { email: 'a@example.com' },
      { ...auth, 'Idempotency-Key': 'k1' },
    );
    await call(sim, 'GET', '/crm/contacts?external_id=cus_1', undefined, auth);
    await call(sim, 'PATCH', '/crm/contacts/c_1', { name: 'x' }, { Authorization: 'Bearer wrong' });
    await call(sim, 'DELETE', '/crm/contacts/c_1');
    const expected = [
      { method: 'POST', path: '/crm/contacts', idempotencyKey: 'k1', authorization: 'valid' },
      { method: 'GET', path: '/crm/contacts?external_id=cus_1', authorization: 'valid' },
      { method: 'PATCH', path: '/crm/contacts/c_1', authorization: 'invalid' },
      { method: 'DELETE', path: '/crm/contacts/c_1', authorization: 'absent' },
    ];
    expect(sim.crm.requests()).toEqual(expected);
    expect(await admin(sim, '/requests')).toEqual({ requests: expected });
    expect(JSON.stringify(sim.crm.requests())).not.toContain('secret');
    // Admin routes are not logged; clearing the log keeps contacts and stats.
    expect((await call(sim, 'DELETE', '/_admin/crm/requests')).body).toEqual({ ok: true });
    expect(sim.crm.requests()).toEqual([]);
    expect(sim.crm.contacts()).toHaveLength(1);
    expect(sim.crm.stats().requests['POST /crm/contacts']).toBe(1);

    // Without a token any Authorization header is valid; the log keeps only the latest 1,000.
    const open = await crm();
    for (let i = 0; i < 1005; i++)
      await call(open, 'GET', `/crm/contacts?external_id=e${i}`, undefined, auth);
    const log = open.crm.requests();
    expect(log).toHaveLength(1000);
    expect(log[0]).toEqual({ method: 'GET', path: '/crm/contacts?external_id=e5', authorization: 'valid' });
    expect(log.at(-1)!.path).toBe('/crm/contacts?external_id=e1004');
    await admin(open, '/reset', {});
    expect(open.crm.requests()).toEqual([]);
  });

  it('answers injected statuses to the next requests past auth, before the bucket, the faults and the work', async () => {
    const sim = await crm({ token: 'secret', rateLimit: { capacity: 2, refillPerSecond: 0.001 } });
    const auth = { Authorization: 'Bearer secret' };
    sim.crm.failNext({ status: 503, times: 2 });
    expect(await admin(sim, '/fail-next', { status: 429, retryAfter: 7 })).toEqual({ ok: true });
    // A request that fails auth is answered 401 and leaves the injected answers queued.
    expect((await call(sim, 'POST', '/crm/contacts', { email: 'a@example.com' })).status).toBe(401);
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await call(sim, 'POST', '/crm/contacts', { email: `u${i}@example.com` }, auth));
    }
    expect(answers.map((a) => a.status)).toEqual([503, 503, 429, 201]);
    expect(answers[0]!.body).toEqual({ error: { code: 'injected', message: 'an injected 503' } });
    expect(answers[0]!.headers.get('retry-after')).toBeNull();
    expect(answers[2]!.headers.get('retry-after')).toBe('7');
    // Nothing was done for them: one contact, one token of the bucket taken, counted as injected.
    expect(sim.crm.contacts().map((c) => c.email)).toEqual(['u3@example.com']);
    expect(answers[3]!.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(sim.crm.stats().faults).toMatchObject({ injected: 3, unauthorized: 1, clientLimit: 0 });
    expect(sim.crm.stats().creates).toBe(1);

    sim.crm.failNext({ status: 500, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' });
    const dated = await call(sim, 'GET', '/crm/contacts', undefined, auth);
    expect([dated.status, dated.headers.get('retry-after')]).toEqual([500, 'Wed, 21 Oct 2026 07:28:00 GMT']);

    // Invalid injections are refused; a reset drops queued ones.
    expect(() => sim.crm.failNext({ status: 200 })).toThrow(/invalid crm fail-next/);
    expect((await call(sim, 'POST', '/_admin/crm/fail-next', { status: 503, times: 0 })).status).toBe(400);
    sim.crm.failNext({ status: 503, times: 5 });
    sim.crm.reset();
    expect((await call(sim, 'GET', '/crm/contacts', undefined, auth)).status).toBe(200);
  });

  it('accepts contacts without an email once requireEmail is off', async () => {
    const sim = await crm({ reject: { emails: ['blocked@example.com'] } });
    expect(sim.crm.settings.requireEmail).toBe(true);
    expect((await call(sim, 'POST', '/crm/contacts', { name: 'no email' })).status).toBe(422);
    expect(await admin(sim, '', { requireEmail: false })).toMatchObject({ requireEmail: false });
    const created = await call(sim, 'POST', '/crm/contacts', { name: 'no email', external_id: 'e1' });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('email');
    const batch = await call(sim, 'POST', '/crm/contacts/batch', { inputs: [{ external_id: 'e2' }] });
    expect(batch.body.results[0]).toMatchObject({ external_id: 'e2', status: 'created' });
    expect((await call(sim, 'PUT', '/crm/contacts/c_1', { name: 'still none' })).status).toBe(200);
    // The reject set still applies to the emails given.
    expect((await call(sim, 'POST', '/crm/contacts', { email: 'blocked@example.com' })).status).toBe(422);
    sim.crm.configure({ requireEmail: true });
    expect((await call(sim, 'PATCH', '/crm/contacts/c_1', { name: 'x' })).status).toBe(422);
    expect(sim.crm.contacts()).toHaveLength(2);
    await expect(crm({ requireEmail: 'no' } as unknown as CrmPatch)).rejects.toThrow(/requireEmail/);
  });

  it('rejects invalid options with a clear message', async () => {
    await expect(crm({ faults: { lostResponse: 0.7, slow: 0.7 } })).rejects.toThrow(/add up to 1.4/);
    await expect(crm({ bogus: 1 } as CrmPatch)).rejects.toThrow(/invalid crm/);
    await expect(crm({ rateLimit: { capacity: 0, refillPerSecond: 1 } })).rejects.toThrow(/capacity/);
  });
});
