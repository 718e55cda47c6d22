import { describe, expect, it } from 'vitest';
import type { FaultPatch } from './index.ts';
import { rawGet, simulatorsForEachTest } from './simulator-test-client.ts';

const start = simulatorsForEachTest();

const small = { customers: 300 };

/** What one request looked like to a client: status and whether the body parsed, or the error. */
async function outcome(url: string): Promise<string> {
  try {
    const res = await rawGet(url, { timeoutMs: 5000 });
    let parsed = 'json';
    try {
      JSON.parse(res.body);
    } catch {
      parsed = 'not-json';
    }
    return `${res.status}:${parsed}`;
  } catch (error) {
    return `error:${(error as Error).message}`;
  }
}

describe('simulator faults and HTTP semantics', () => {
  it('injects the same fault sequence for the same seed and request sequence', async () => {
    const faults: FaultPatch = {
      rateLimit: 0.15,
      serverError: 0.1,
      truncated: 0.1,
      malformed: 0.1,
      reset: 0.05,
    };
    const sequences: string[][] = [];
    for (const seed of [21, 21, 22]) {
      const sim = await start({ seed, datasets: small, faults });
      const seq: string[] = [];
      for (let i = 0; i < 60; i++) seq.push(await outcome(`${sim.url}/v1/customers?limit=20`));
      sequences.push(seq);
    }
    expect(sequences[0]).toEqual(sequences[1]);
    expect(sequences[0]).not.toEqual(sequences[2]);
    const kinds = new Set(sequences[0]!.map((o) => o.replace(/^(error):.*/, '$1')));
    const allowed = ['200:json', '200:not-json', '429:json', '500:json', '502:json', '503:json', 'error'];
    for (const kind of kinds) expect(allowed).toContain(kind);
    expect(kinds.size).toBeGreaterThanOrEqual(5);
  });

  it('answers 429 with Retry-After in seconds and as an HTTP-date, and X-RateLimit headers', async () => {
    const sim = await start({ seed: 1, datasets: small, faults: { rateLimit: 1, retryAfterSeconds: 2 } });
    const forms = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const res = await rawGet(`${sim.url}/v1/customers`);
      expect(res.status).toBe(429);
      const retryAfter = String(res.headers['retry-after']);
      if (/^\d+$/.test(retryAfter)) {
        expect(retryAfter).toBe('2');
        forms.add('seconds');
      } else {
        const wait = Date.parse(retryAfter) - Date.now();
        expect(wait).toBeGreaterThan(-1000);
        expect(wait).toBeLessThanOrEqual(3000);
        forms.add('date');
      }
      expect(res.headers['x-ratelimit-remaining']).toBe('0');
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
      expect(res.headers['x-ratelimit-limit']).toBeDefined();
    }
    expect(forms).toEqual(new Set(['seconds', 'date']));
    expect(sim.stats().faults.rateLimit).toBe(20);
  });

  it('answers 5xx in bursts of consecutive requests', async () => {
    const sim = await start({
      seed: 3,
      datasets: small,
      faults: { serverError: 0.2, serverErrorBurstMin: 3, serverErrorBurstMax: 3 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await rawGet(`${sim.url}/v1/customers?limit=5`)).status);
    const runs = statuses
      .join(',')
      .split(/,?200,?/)
      .filter((run) => run !== '');
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run.split(',').length % 3).toBe(0);
  });

  it('sends truncated and malformed bodies with status 200 that do not parse', async () => {
    for (const fault of ['truncated', 'malformed'] as const) {
      const sim = await start({ seed: 5, datasets: small, faults: { [fault]: 1 } });
      for (let i = 0; i < 6; i++) {
        const res = await rawGet(`${sim.url}/v1/customers?limit=50`);
        expect(res.status).toBe(200);
        expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
        expect(() => JSON.parse(res.body)).toThrow();
      }
    }
  });

  it('resets the connection in the middle of the body', async () => {
    const sim = await start({ seed: 5, datasets: small, faults: { reset: 1 } });
    await expect(rawGet(`${sim.url}/v1/customers?limit=200`)).rejects.toThrow(
      /aborted|ECONNRESET|socket hang up/,
    );
    expect(sim.stats().faults.reset).toBe(1);
  });

  it('hangs requests past a client timeout and drops them after hangMs', async () => {
    const sim = await start({ seed: 5, datasets: small, faults: { hang: 1, hangMs: 300 } });
    const t0 = Date.now();
    await expect(rawGet(`${sim.url}/v1/customers`, { timeoutMs: 5000 })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    sim.setFaults({ hangMs: 60_000 });
    await expect(rawGet(`${sim.url}/v1/customers`, { timeoutMs: 200 })).rejects.toThrow(/timeout/);
    // A hung request still open must not keep close() waiting.
    const pending = rawGet(`${sim.url}/v1/customers`).catch(() => 'dropped');
    await new Promise((r) => setTimeout(r, 50));
    await sim.close();
    expect(await pending).toBe('dropped');
  });

  it('delays slow responses', async () => {
    const sim = await start({ seed: 5, datasets: small, faults: { slow: 1, slowMs: 250 } });
    const t0 = Date.now();
    expect((await rawGet(`${sim.url}/v1/customers`)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  });

  it('enforces a per-client token bucket, per API key', async () => {
    const sim = await start({
      seed: 5,
      datasets: small,
      faults: { clientLimit: { capacity: 3, refillPerSecond: 0.5 } },
    });
    const get = (key: string) => rawGet(`${sim.url}/v1/customers?limit=1`, { headers: { 'X-API-Key': key } });
    const a = [await get('a'), await get('a'), await get('a'), await get('a')];
    expect(a.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(a.map((r) => r.headers['x-ratelimit-remaining'])).toEqual(['2', '1', '0', '0']);
    expect(Number(a[3]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await get('b')).status).toBe(200);
    expect(sim.stats().faults.clientLimit).toBe(1);
  });

  it('requires a bearer token or API key when auth is configured', async () => {
    const sim = await start({ seed: 5, datasets: small, auth: { bearerTokens: ['t0k'], apiKeys: ['k3y'] } });
    expect((await rawGet(`${sim.url}/v1/customers`)).status).toBe(401);
    expect(
      (await rawGet(`${sim.url}/v1/customers`, { headers: { Authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    expect(
      (await rawGet(`${sim.url}/v1/customers`, { headers: { Authorization: 'Bearer t0k' } })).status,
    ).toBe(200);
    expect((await rawGet(`${sim.url}/v1/customers?api_key=k3y`)).status).toBe(200);
  });

  it('answers 304 to If-None-Match and If-Modified-Since while nothing changed, 200 after a change', async () => {
    let now = Date.UTC(2025, 0, 1);
    const sim = await start({ seed: 5, datasets: small, clock: () => now });
    const url = `${sim.url}/v1/customers?style=keyset&limit=10`;
    const first = await rawGet(url);
    const etag = String(first.headers.etag);
    const lastModified = String(first.headers['last-modified']);
    expect((await rawGet(url, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await rawGet(url, { headers: { 'If-Modified-Since': lastModified } })).status).toBe(304);
    expect((await rawGet(url, { headers: { 'If-None-Match': etag }, method: 'HEAD' })).status).toBe(304);
    sim.mutate(30);
    // Within the second of the change, Last-Modified is withheld: a 1-second date could hide a later change.
    const fresh = await rawGet(url, { headers: { 'If-Modified-Since': lastModified } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers['last-modified']).toBeUndefined();
    now += 1000;
    const settled = await rawGet(url);
    expect(Date.parse(String(settled.headers['last-modified']))).toBeGreaterThan(Date.parse(lastModified));
    expect(
      (await rawGet(url, { headers: { 'If-Modified-Since': String(settled.headers['last-modified']) } }))
        .status,
    ).toBe(304);
    expect((await rawGet(url, { headers: { 'If-None-Match': etag } })).status).toBe(200);
  });

  it('is driven over the admin endpoints', async () => {
    const sim = await start({ seed: 5, datasets: small });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect((await post('/_admin/faults', { rateLimit: 1 })).body.rateLimit).toBe(1);
    expect((await rawGet(`${sim.url}/v1/customers`)).status).toBe(429);
    expect((await post('/_admin/faults', { rateLimit: 0 })).status).toBe(200);
    expect((await post('/_admin/faults', { rateLimit: 3 })).status).toBe(400);
    expect(
      (
        await post('/_admin/mutations', {
          ratePerSecond: 0,
          mix: { insert: 1, update: 0, backdate: 0, burst: 0, softDelete: 0, hardDelete: 0 },
        })
      ).status,
    ).toBe(200);
    expect((await post('/_admin/mutate', { n: 7 })).body.insert).toBe(7);
    expect(sim.dataset('customers').totalCreated).toBe(307);
    const stats = (await (await fetch(`${sim.url}/_admin/stats`)).json()) as {
      requests: Record<string, number>;
    };
    expect(stats.requests['GET /v1/customers']).toBe(1);
  });
});
