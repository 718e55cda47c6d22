import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Page, SourceArgs } from '../../src/core/source.ts';
import type { Store } from '../../src/core/store.ts';
import type { Checkpoint } from '../../src/core/types.ts';
import { signWebhook } from '../../src/sources/webhook/webhook-signature.ts';
import { webhookStream } from '../../src/sources/webhook/webhook-stream.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';

const SECRET = 'whsec_dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQ=';

/** Headers looked up by name in any case, as an HTTP server gives them. */
const byName = (headers: Record<string, string>) => (name: string) =>
  Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];

/** A webhook stream's source read directly over a real inbox (SQLite). */
describe('a webhook stream reads its inbox as pages', () => {
  let t: TestStore;
  let store: Store;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
    store = t.store;
  });
  afterEach(async () => {
    await t.dispose();
  });

  const stream = (over: object = {}) =>
    webhookStream({
      name: 'customers',
      key: 'id',
      webhook: {
        scheme: { type: 'standard' },
        secretsEnv: 'UNUSED',
        record: 'data',
        deleteTypes: ['customer.deleted'],
        ...over,
      },
      pageSize: 3,
    });
  let n = 0;
  const add = (type: string, data: object) =>
    store.addInboxEvent({
      stream: 'customers',
      eventId: `evt_${++n}`,
      receivedAt: new Date().toISOString(),
      headers: {},
      body: JSON.stringify({ type, data }),
    });
  const read = async (checkpoint: Checkpoint, over: object = {}) => {
    const pages: Page<unknown>[] = [];
    const args: SourceArgs = {
      stream: 'customers',
      checkpoint,
      signal: new AbortController().signal,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      report() {},
      attempt: (op) => op(1, { attempt: 1, maxAttempts: 1, last: true }),
      observeLimit() {},
      deadline: null,
      secret: () => '',
      request: { mode: 'sync' },
      inbox: store,
    };
    for await (const page of stream(over).source(args)) pages.push(page);
    return pages;
  };

  it('pages the events after the checkpoint in order, the inbox id as the checkpoint', async () => {
    for (let i = 1; i <= 7; i++) await add('customer.updated', { id: `c${i}` });
    const pages = await read(null);
    expect(pages.map((p) => (p.records as { id: string }[]).map((r) => r.id))).toEqual([
      ['c1', 'c2', 'c3'],
      ['c4', 'c5', 'c6'],
      ['c7'],
    ]);
    expect(pages.map((p) => p.checkpoint)).toEqual([{ inbox: 3 }, { inbox: 6 }, { inbox: 7 }]);
    expect(await read({ inbox: 6 })).toEqual([
      { records: [{ id: 'c7' }], tombstones: [], checkpoint: { inbox: 7 } },
    ]);
    expect(await read({ inbox: 7 })).toEqual([]);
  });

  it('ends a page before a key made again after its delete in it, so the delete does not win', async () => {
    await add('customer.updated', { id: 'c1', v: 1 });
    await add('customer.deleted', { id: 'c1' });
    await add('customer.updated', { id: 'c1', v: 2 });
    const pages = await read(null);
    expect(pages).toEqual([
      {
        records: [{ id: 'c1', v: 1 }],
        tombstones: [{ key: { id: 'c1' }, deletedAt: null }],
        checkpoint: { inbox: 2 },
      },
      { records: [{ id: 'c1', v: 2 }], tombstones: [], checkpoint: { inbox: 3 } },
    ]);
  });

  it('skips types it does not take and events without a record, moving past them', async () => {
    await add('invoice.paid', { id: 'i1' });
    await add('customer.updated', { id: 'c1' });
    await store.addInboxEvent({
      stream: 'customers',
      eventId: 'evt_empty',
      receivedAt: new Date().toISOString(),
      headers: {},
      body: JSON.stringify({ type: 'customer.updated' }),
    });
    const pages = await read(null, { types: ['customer.updated'] });
    expect(pages).toEqual([{ records: [{ id: 'c1' }], tombstones: [], checkpoint: { inbox: 3 } }]);
  });

  it('accepts a signed request, and names the event by its header, a body path or its hash', () => {
    const receiver = stream().receive!(() => SECRET);
    const body = Buffer.from(
      JSON.stringify({ id: 'evt_body', type: 'customer.updated', data: { id: 'c1' } }),
    );
    const signed = signWebhook({ type: 'standard' }, SECRET, { body, id: 'msg_1' });
    const headers = byName(signed);
    expect(receiver.accept({ headers, body })).toEqual({ ok: true, eventId: 'msg_1', headers: {} });
    const stripe = webhookStream({
      name: 'customers',
      key: 'id',
      webhook: { scheme: { type: 'stripe' }, secretsEnv: 'UNUSED' },
    }).receive!(() => 'sk-test-secret-0123456789');
    const stripeHeaders = signWebhook({ type: 'stripe' }, 'sk-test-secret-0123456789', { body });
    expect(stripe.accept({ headers: byName(stripeHeaders), body })).toMatchObject({
      ok: true,
      eventId: 'evt_body',
    });
    expect(receiver.accept({ headers, body: Buffer.from('{}') })).toMatchObject({ ok: false, status: 401 });
    // No id in the headers nor at the body path: the body's hash names it.
    const hmacScheme = { type: 'hmac', header: 'x-signature' } as const;
    const hmac = webhookStream({
      name: 'customers',
      key: 'id',
      webhook: { scheme: hmacScheme, secretsEnv: 'UNUSED', eventId: 'event.id' },
    }).receive!(() => 'hmac-secret-0123456789');
    const bare = Buffer.from('{"data":{"id":"c1"}}');
    const verdict = hmac.accept({
      headers: byName(signWebhook(hmacScheme, 'hmac-secret-0123456789', { body: bare })),
      body: bare,
    });
    expect(verdict).toMatchObject({ ok: true, eventId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });

  it("accepts what Stripe's own library signs, refuses it altered, and signs what Stripe's library verifies", () => {
    const secret = 'whsec_test_stripe_compat_0123456789';
    const stripe = new Stripe('sk_test_unused');
    const receiver = webhookStream({
      name: 'customers',
      key: 'id',
      webhook: { scheme: { type: 'stripe' }, secretsEnv: 'UNUSED', record: 'data.object' },
    }).receive!(() => secret);
    const payload = JSON.stringify({
      id: 'evt_1',
      type: 'customer.updated',
      data: { object: { id: 'cus_1' } },
    });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const headers = (name: string) => (name.toLowerCase() === 'stripe-signature' ? header : undefined);
    expect(receiver.accept({ headers, body: Buffer.from(payload) })).toEqual({
      ok: true,
      eventId: 'evt_1',
      headers: {},
    });
    expect(receiver.accept({ headers, body: Buffer.from(payload.replace('cus_1', 'cus_2')) })).toMatchObject({
      ok: false,
      status: 401,
    });
    const old = stripe.webhooks.generateTestHeaderString({
      payload,
      secret,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(
      receiver.accept({
        headers: (n) => (n.toLowerCase() === 'stripe-signature' ? old : undefined),
        body: Buffer.from(payload),
      }),
    ).toMatchObject({ ok: false, status: 401 });
    const ours = byName(signWebhook({ type: 'stripe' }, secret, { body: payload }))('stripe-signature')!;
    expect(stripe.webhooks.constructEvent(payload, ours, secret)).toMatchObject({ id: 'evt_1' });
  });
});
