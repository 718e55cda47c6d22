import { request as httpRequest } from 'node:http';
import { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { createServiceControl } from '../../src/runtime/service-control.ts';
import { createApiApp } from '../../src/server/api-app.ts';
import { isLoopback, parseListen, startApiServer } from '../../src/server/start-api-server.ts';
import { FakeScheduler, fakeMetrics } from '../helpers/fake-service.ts';
import { serviceConfig, silent, syncPeople } from '../helpers/service-fixture.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const TOKEN = 'another-s3cret';

describe('the API server (real HTTP on loopback)', () => {
  let t: TestStore;
  const servers: { close(): Promise<void> }[] = [];

  function app(token: string | null) {
    const control = createServiceControl({
      store: t.store,
      config: serviceConfig(),
      scheduler: new FakeScheduler(['people', 'orders']),
      metrics: fakeMetrics(),
    });
    return createApiApp(control, { token, log: silent });
  }

  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    await syncPeople(t.store);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    await t.dispose();
  });

  it('serves the API on 127.0.0.1 port 0 and closes, ending keep-alive connections', async () => {
    const server = await startApiServer({
      app: app(TOKEN),
      listen: '127.0.0.1:0',
      token: TOKEN,
      log: silent,
    });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true });
    expect((await fetch(`${server.url}/v1/streams`)).status).toBe(401);
    const streams = await fetch(`${server.url}/v1/streams`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(streams.status).toBe(200);
    expect(await streams.json()).toEqual([
      expect.objectContaining({ stream: 'orders' }),
      expect.objectContaining({ stream: 'people', records: 2 }),
    ]);
    const sync = await fetch(`${server.url}/v1/streams/people/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(sync.status).toBe(202);

    // A keep-alive connection left open by a client: close() ends it rather than wait for it.
    const agentless = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/healthz`, { headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentless).toBe(200);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('closes while clients keep their keep-alive connections busy (a webhook provider retrying)', async () => {
    // Answers take a little while, as a webhook's (written to the inbox first) does: at any moment
    // some request is in progress on each connection.
    const slow = new Hono().post('/hook', async (c) => {
      await c.req.text();
      await new Promise((resolve) => setTimeout(resolve, 5));
      return c.json({ received: true });
    });
    const server = await startApiServer({ app: slow, listen: '127.0.0.1:0', token: TOKEN, log: silent });
    servers.push(server);
    let busy = true;
    let answered = 0;
    const client = async () => {
      while (busy) {
        try {
          await (await fetch(`${server.url}/hook`, { method: 'POST', body: '{}' })).text();
          answered++;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    while (answered < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    // Before, close() waited for requestTimeout (60 s): the connections were never idle.
    const closed = await Promise.race([
      server.close().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000)),
    ]);
    busy = false;
    await Promise.all(clients);
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('names the address when it is in use', async () => {
    const first = await startApiServer({ app: app(null), listen: '127.0.0.1:0', token: null, log: silent });
    servers.push(first);
    const listen = first.url.replace('http://', '');
    const second = startApiServer({ app: app(null), listen, token: null, log: silent });
    await expect(second).rejects.toThrow(ConfigError);
    await expect(second).rejects.toThrow(`cannot serve the API on ${listen}: the address is already in use`);
  });

  it('refuses to listen beyond loopback without a token, and a listen address that is not host:port', async () => {
    await expect(
      startApiServer({ app: app(null), listen: '0.0.0.0:0', token: null, log: silent }),
    ).rejects.toThrow(
      'refusing to serve the API on 0.0.0.0:0 without a token: set SYNCLINE_API_TOKEN, or listen on 127.0.0.1',
    );
    for (const listen of ['7373', 'localhost', 'host:99999', ':7373']) {
      expect(() => parseListen(listen)).toThrow(ConfigError);
    }
    expect(parseListen('[::1]:7373')).toEqual({ host: '::1', port: 7373 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com'].some(isLoopback)).toBe(false);
  });
});
