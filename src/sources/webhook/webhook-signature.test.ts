import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import {
  createWebhookVerifier,
  signWebhook,
  type WebhookRequest,
  type WebhookScheme,
  type WebhookVerdict,
  webhookSchemeSchema,
} from './webhook-signature.ts';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const MINUTE = 60_000;
const now = () => NOW;

/** A request whose header lookup ignores case, as `Headers.get` and Hono's `c.req.header` do. */
function request(headers: Record<string, string>, body: Buffer | string): WebhookRequest {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    headers: (name) => lower.get(name.toLowerCase()),
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  };
}

function rejected(verdict: WebhookVerdict): { status: number; reason: string } {
  if (verdict.ok) throw new Error('expected the request to be rejected, it was accepted');
  return { status: verdict.status, reason: verdict.reason };
}

const BODY = '{"id":"evt_1","type":"customer.updated","data":{"name":"Zoë"}}';

describe('standard (Standard Webhooks)', () => {
  const scheme: WebhookScheme = { type: 'standard' };
  const secret = `whsec_${Buffer.alloc(24, 0x5a).toString('base64')}`;
  const other = `whsec_${Buffer.alloc(32, 0x11).toString('base64')}`;
  const verify = createWebhookVerifier(scheme, [secret], { now });
  /** Signed by the standardwebhooks package, not by this module. */
  function signed(body: Buffer | string, at = NOW, key = secret, id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W') {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return request(
      {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at / 1000)),
        'webhook-signature': new Webhook(key).sign(id, new Date(at), bytes),
      },
      bytes,
    );
  }

  it('accepts a request signed by the standardwebhooks package, with its id and timestamp', () => {
    expect(verify(signed(BODY))).toEqual({
      ok: true,
      eventId: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
      timestamp: NOW,
    });
  });

  it('signs exactly as the standardwebhooks package does, and the package accepts it', () => {
    const headers = signWebhook(scheme, secret, { body: BODY, id: 'msg_1', timestamp: NOW });
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('msg_1', new Date(NOW), BODY));
    const live = signWebhook(scheme, secret, { body: BODY, id: 'msg_2' }); // the package checks the real clock
    expect(() => new Webhook(secret).verify(BODY, live)).not.toThrow();
  });

  it('takes a secret without whsec_ as its raw bytes, as the package does with format raw', () => {
    const raw = 'a-plain-secret-of-32-characters!';
    const signature = new Webhook(raw, { format: 'raw' }).sign('msg_1', new Date(NOW), BODY);
    const verdict = createWebhookVerifier(scheme, [raw], { now })(
      request(
        { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW / 1000), 'webhook-signature': signature },
        BODY,
      ),
    );
    expect(verdict.ok).toBe(true);
  });

  it('rejects a tampered body and a wrong secret (401)', () => {
    const tampered = signed(BODY);
    tampered.body = Buffer.from(BODY.replace('Zoë', 'Zoe'));
    expect(rejected(verify(tampered))).toEqual({ status: 401, reason: 'the signature does not match' });
    expect(rejected(verify(signed(BODY, NOW, other))).status).toBe(401);
  });

  it('rejects a request whose id was changed (the id is signed)', () => {
    const req = signed(BODY);
    const headers = req.headers;
    req.headers = (name) => (name === 'webhook-id' ? 'msg_other' : headers(name));
    expect(rejected(verify(req)).status).toBe(401);
  });

  it('rejects missing headers (401)', () => {
    for (const name of ['webhook-signature', 'webhook-id', 'webhook-timestamp']) {
      const req = signed(BODY);
      const headers = req.headers;
      req.headers = (n) => (n === name ? undefined : headers(n));
      expect(rejected(verify(req))).toEqual({ status: 401, reason: `missing ${name} header` });
    }
  });

  it('answers 400 to a malformed signature header or timestamp', () => {
    const base = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW / 1000) };
    const v1 = signWebhook(scheme, secret, { body: BODY, id: 'msg_1', timestamp: NOW })['webhook-signature']!;
    for (const signature of ['v1', 'garbage', `${v1} ,oops`, 'v1,not*base64!']) {
      const verdict = rejected(verify(request({ ...base, 'webhook-signature': signature }, BODY)));
      expect(verdict.status, signature).toBe(400);
      expect(verdict.reason).toMatch(/^malformed webhook-signature header: /);
    }
    for (const timestamp of ['soon', '-1', '1.5e9', '1765022400.5']) {
      const verdict = rejected(
        verify(request({ ...base, 'webhook-timestamp': timestamp, 'webhook-signature': v1 }, BODY)),
      );
      expect(verdict, timestamp).toEqual({
        status: 400,
        reason: 'malformed webhook-timestamp header: not a unix time in seconds',
      });
    }
  });

  it('passes when any v1 entry matches, ignoring other versions; 401 with no v1 entry', () => {
    const good = signed(BODY).headers('webhook-signature')!;
    const bad = `v1,${Buffer.alloc(32, 1).toString('base64')}`;
    const base = { 'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 'webhook-timestamp': String(NOW / 1000) };
    expect(verify(request({ ...base, 'webhook-signature': `v1a,abcd ${bad} ${good}` }, BODY)).ok).toBe(true);
    expect(rejected(verify(request({ ...base, 'webhook-signature': `v1a,abcd ${bad}` }, BODY))).status).toBe(
      401,
    );
    expect(rejected(verify(request({ ...base, 'webhook-signature': 'v1a,abcd' }, BODY)))).toEqual({
      status: 401,
      reason: 'no v1 signature in webhook-signature',
    });
  });

  it('rejects a timestamp 6 minutes old or ahead (401) and accepts 4 minutes either way', () => {
    expect(rejected(verify(signed(BODY, NOW - 6 * MINUTE)))).toEqual({
      status: 401,
      reason: 'the signed timestamp is 360s old (tolerance 300s)',
    });
    expect(rejected(verify(signed(BODY, NOW + 6 * MINUTE)))).toEqual({
      status: 401,
      reason: 'the signed timestamp is 360s in the future (tolerance 300s)',
    });
    expect(verify(signed(BODY, NOW - 4 * MINUTE))).toMatchObject({ ok: true, timestamp: NOW - 4 * MINUTE });
    expect(verify(signed(BODY, NOW + 4 * MINUTE)).ok).toBe(true);
  });

  it('honours a custom tolerance', () => {
    const strict = createWebhookVerifier(scheme, [secret], { now, toleranceMs: MINUTE });
    expect(rejected(strict(signed(BODY, NOW - 2 * MINUTE))).status).toBe(401);
    expect(strict(signed(BODY, NOW - 30_000)).ok).toBe(true);
  });

  it('accepts the second of two secrets (rotation)', () => {
    const rotating = createWebhookVerifier(scheme, [other, secret], { now });
    expect(rotating(signed(BODY)).ok).toBe(true);
    expect(rotating(signed(BODY, NOW, other)).ok).toBe(true);
    const third = `whsec_${Buffer.alloc(32, 0x33).toString('base64')}`;
    expect(rejected(rotating(signed(BODY, NOW, third))).status).toBe(401);
  });

  it('verifies the raw bytes: a body whose re-serialised JSON differs', () => {
    const spaced = '{ "id": "evt_1",\n  "amount": 1.50, "tags": [ ] }\n';
    expect(JSON.stringify(JSON.parse(spaced))).not.toBe(spaced);
    const req = signed(spaced);
    expect(verify(req).ok).toBe(true);
    req.body = Buffer.from(JSON.stringify(JSON.parse(spaced)));
    expect(rejected(verify(req)).status).toBe(401);
  });

  it('verifies the raw bytes: a BOM and bytes that are not UTF-8', () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"a":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}'),
    ]);
    const req = signed(body);
    expect(verify(req).ok).toBe(true);
    req.body = Buffer.from(body.toString('utf8'), 'utf8'); // decoded and re-encoded: not the same bytes
    expect(rejected(verify(req)).status).toBe(401);
  });
});

describe('stripe', () => {
  const scheme: WebhookScheme = { type: 'stripe' };
  const secret = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';
  const other = 'whsec_test_rotated_secret_000000000';
  const verify = createWebhookVerifier(scheme, [secret], { now });
  /** Computed here, independently of the module: HMAC-SHA256 hex of `${t}.${body}` with the secret as-is. */
  const sign = (body: Buffer | string, t: number, key = secret) =>
    createHmac('sha256', key).update(`${t}.`).update(body).digest('hex');
  const header = (body: Buffer | string, at = NOW, key = secret) => {
    const t = Math.floor(at / 1000);
    return { 'Stripe-Signature': `t=${t},v1=${sign(body, t, key)}` };
  };

  it('accepts two v1 entries of which one matches (and a v0), without an event id', () => {
    const t = NOW / 1000;
    const wrong = sign(BODY, t, other);
    const stripeSignature = `t=${t},v1=${wrong},v1=${sign(BODY, t)},v0=${'0'.repeat(64)}`;
    expect(verify(request({ 'Stripe-Signature': stripeSignature }, BODY))).toEqual({
      ok: true,
      eventId: null,
      timestamp: NOW,
    });
    expect(rejected(verify(request({ 'Stripe-Signature': `t=${t},v1=${wrong}` }, BODY))).status).toBe(401);
  });

  it('uses a whsec_ secret as-is, and signWebhook matches', () => {
    expect(signWebhook(scheme, secret, { body: BODY, timestamp: NOW })).toEqual(header(BODY));
  });

  it('rejects a tampered body, a wrong secret, a missing header (401)', () => {
    expect(rejected(verify(request(header(BODY), `${BODY} `))).status).toBe(401);
    expect(rejected(verify(request(header(BODY, NOW, other), BODY))).status).toBe(401);
    expect(rejected(verify(request({}, BODY)))).toEqual({
      status: 401,
      reason: 'missing Stripe-Signature header',
    });
    expect(rejected(verify(request({ 'Stripe-Signature': `t=${NOW / 1000}` }, BODY)))).toEqual({
      status: 401,
      reason: 'no v1 signature in Stripe-Signature',
    });
  });

  it('answers 400 to a malformed header or timestamp', () => {
    const v1 = sign(BODY, NOW / 1000);
    const cases = [
      'garbage',
      `v1=${v1}`,
      `t=${NOW / 1000},v1=${v1.slice(1)}`,
      `t=${NOW / 1000},v1=zz${v1.slice(2)}`,
    ];
    cases.push(`t=${NOW / 1000},t=${NOW / 1000},v1=${v1}`, `t=later,v1=${v1}`);
    for (const value of cases) {
      const verdict = rejected(verify(request({ 'Stripe-Signature': value }, BODY)));
      expect(verdict.status, value).toBe(400);
      expect(verdict.reason).toMatch(/^malformed Stripe-Signature header: /);
    }
  });

  it('rejects a timestamp 6 minutes old or ahead (401) and accepts 4 minutes', () => {
    expect(rejected(verify(request(header(BODY, NOW - 6 * MINUTE), BODY))).status).toBe(401);
    expect(rejected(verify(request(header(BODY, NOW + 6 * MINUTE), BODY))).status).toBe(401);
    expect(verify(request(header(BODY, NOW - 4 * MINUTE), BODY)).ok).toBe(true);
    expect(verify(request(header(BODY, NOW + 4 * MINUTE), BODY)).ok).toBe(true);
  });

  it('accepts the second secret (rotation)', () => {
    expect(createWebhookVerifier(scheme, [other, secret], { now })(request(header(BODY), BODY)).ok).toBe(
      true,
    );
  });

  it('never tells the expected signature or the secret', () => {
    const reason = rejected(verify(request(header(BODY, NOW, other), BODY))).reason;
    expect(reason).not.toContain(sign(BODY, NOW / 1000));
    expect(reason).not.toContain(secret);
  });
});

describe('github', () => {
  const scheme: WebhookScheme = { type: 'github' };
  // GitHub's documented example ("Validating webhook deliveries").
  const secret = "It's a Secret to Everybody";
  const docSignature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const verify = createWebhookVerifier(scheme, [secret], { now });
  const headers = {
    'X-Hub-Signature-256': docSignature,
    'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  };

  it("accepts GitHub's documented example, with the delivery id and no timestamp", () => {
    expect(verify(request(headers, 'Hello, World!'))).toEqual({
      ok: true,
      eventId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      timestamp: null,
    });
    expect(signWebhook(scheme, secret, { body: 'Hello, World!' })).toEqual({
      'X-Hub-Signature-256': docSignature,
    });
  });

  it('has no replay window: an old delivery still verifies', () => {
    const late = createWebhookVerifier(scheme, [secret], { now: () => NOW + 365 * 24 * 60 * MINUTE });
    expect(late(request(headers, 'Hello, World!')).ok).toBe(true);
  });

  it('rejects a tampered body, a wrong secret, a missing header (401)', () => {
    expect(rejected(verify(request(headers, 'Hello, World?'))).status).toBe(401);
    const wrong = createWebhookVerifier(scheme, ["It's a Secret to Somebody"], { now });
    expect(rejected(wrong(request(headers, 'Hello, World!'))).status).toBe(401);
    expect(rejected(verify(request({ 'X-GitHub-Delivery': 'x' }, 'Hello, World!')))).toEqual({
      status: 401,
      reason: 'missing X-Hub-Signature-256 header',
    });
  });

  it('answers 400 to a malformed header', () => {
    for (const value of [docSignature.replace('sha256=', 'sha1='), docSignature.slice(0, -1), 'sha256=xyz']) {
      const verdict = rejected(verify(request({ 'X-Hub-Signature-256': value }, 'Hello, World!')));
      expect(verdict.status, value).toBe(400);
    }
  });

  it('accepts the second secret (rotation); the event id is null without X-GitHub-Delivery', () => {
    const rotating = createWebhookVerifier(scheme, ['an-older-secret-of-some-length', secret], { now });
    expect(rotating(request({ 'X-Hub-Signature-256': docSignature }, 'Hello, World!'))).toEqual({
      ok: true,
      eventId: null,
      timestamp: null,
    });
  });
});

describe('hmac (generic)', () => {
  const scheme: WebhookScheme = {
    type: 'hmac',
    header: 'X-Signature',
    encoding: 'base64',
    prefix: 'sha256=',
    signed: '{timestamp}.{body}',
    timestampHeader: 'X-Timestamp',
    idHeader: 'X-Event-Id',
  };
  const secret = 'generic-secret-0123456789';
  const verify = createWebhookVerifier(scheme, [secret], { now });
  const headersAt = (at: number, body: string | Buffer = BODY) => {
    const t = Math.floor(at / 1000);
    const signature = createHmac('sha256', secret).update(`${t}.`).update(body).digest('base64');
    return { 'X-Signature': `sha256=${signature}`, 'X-Timestamp': String(t), 'X-Event-Id': 'evt_42' };
  };

  it("accepts base64 with a prefix over '{timestamp}.{body}', with the id and timestamp", () => {
    expect(verify(request(headersAt(NOW), BODY))).toEqual({ ok: true, eventId: 'evt_42', timestamp: NOW });
    expect(signWebhook(scheme, secret, { body: BODY, id: 'evt_42', timestamp: NOW })).toEqual(headersAt(NOW));
  });

  it('rejects a tampered body, a re-timed request, a wrong secret, missing headers (401)', () => {
    expect(rejected(verify(request(headersAt(NOW), `${BODY}\n`))).status).toBe(401);
    expect(
      rejected(verify(request({ ...headersAt(NOW), 'X-Timestamp': String(NOW / 1000 + 1) }, BODY))).status,
    ).toBe(401);
    const wrong = createWebhookVerifier(scheme, ['another-generic-secret-0000'], { now });
    expect(rejected(wrong(request(headersAt(NOW), BODY))).status).toBe(401);
    const { 'X-Timestamp': _t, ...untimed } = headersAt(NOW);
    expect(rejected(verify(request(untimed, BODY)))).toEqual({
      status: 401,
      reason: 'missing X-Timestamp header',
    });
    const { 'X-Signature': _s, ...unsigned } = headersAt(NOW);
    expect(rejected(verify(request(unsigned, BODY)))).toEqual({
      status: 401,
      reason: 'missing X-Signature header',
    });
  });

  it('answers 400 to a missing prefix, bad base64 or a malformed timestamp', () => {
    const good = headersAt(NOW);
    const signature = good['X-Signature'].slice('sha256='.length);
    for (const changed of [
      { 'X-Signature': signature },
      { 'X-Signature': 'sha256=***' },
      { 'X-Timestamp': 'yesterday' },
    ]) {
      expect(rejected(verify(request({ ...good, ...changed }, BODY))).status).toBe(400);
    }
  });

  it('rejects a timestamp 6 minutes old or ahead (401) and accepts 4 minutes', () => {
    expect(rejected(verify(request(headersAt(NOW - 6 * MINUTE), BODY))).status).toBe(401);
    expect(rejected(verify(request(headersAt(NOW + 6 * MINUTE), BODY))).status).toBe(401);
    expect(verify(request(headersAt(NOW - 4 * MINUTE), BODY)).ok).toBe(true);
    expect(verify(request(headersAt(NOW + 4 * MINUTE), BODY)).ok).toBe(true);
  });

  it('defaults to sha256 hex over the body, and does sha1 / sha512 and {id} when asked', () => {
    const plain = createWebhookVerifier({ type: 'hmac', header: 'X-Sig' }, [secret], { now });
    const hex = createHmac('sha256', secret).update(BODY).digest('hex');
    expect(plain(request({ 'x-sig': hex }, BODY))).toEqual({ ok: true, eventId: null, timestamp: null });
    const sha1 = createHmac('sha1', secret).update(BODY).digest('hex');
    expect(rejected(plain(request({ 'x-sig': sha1 }, BODY))).status).toBe(401);
    expect(
      createWebhookVerifier({ type: 'hmac', header: 'X-Sig', algorithm: 'sha1' }, [secret])(
        request({ 'x-sig': sha1 }, BODY),
      ).ok,
    ).toBe(true);
    const withId: WebhookScheme = {
      type: 'hmac',
      header: 'X-Sig',
      algorithm: 'sha512',
      signed: '{id}:{body}',
      idHeader: 'X-Id',
    };
    const sha512 = createHmac('sha512', secret).update(`evt_9:${BODY}`).digest('hex');
    const byId = createWebhookVerifier(withId, [secret]);
    expect(byId(request({ 'X-Sig': sha512, 'X-Id': 'evt_9' }, BODY))).toEqual({
      ok: true,
      eventId: 'evt_9',
      timestamp: null,
    });
    expect(rejected(byId(request({ 'X-Sig': sha512, 'X-Id': 'evt_8' }, BODY))).status).toBe(401);
    expect(rejected(byId(request({ 'X-Sig': sha512 }, BODY)))).toEqual({
      status: 401,
      reason: 'missing X-Id header',
    });
    expect(byId(request(signWebhook(withId, secret, { body: BODY }), BODY)).ok).toBe(true);
  });
});

describe('webhookSchemeSchema', () => {
  const issue = (value: unknown) => {
    const result = webhookSchemeSchema.safeParse(value);
    if (result.success) throw new Error('expected the scheme to be refused');
    return result.error.issues[0]!;
  };

  it('accepts the four schemes', () => {
    for (const scheme of [
      { type: 'standard' },
      { type: 'stripe' },
      { type: 'github' },
      { type: 'hmac', header: 'X-Sig', signed: '{timestamp}.{body}', timestampHeader: 'X-Ts' },
    ]) {
      expect(webhookSchemeSchema.parse(scheme)).toEqual(scheme);
    }
  });

  it('refuses with messages that say what to write', () => {
    expect(issue({ type: 'svix' }).message).toBe('must have a type: standard, stripe, github or hmac');
    expect(issue({ type: 'hmac', header: 'X', algoritm: 'sha1' }).message).toBe(
      'unknown key; did you mean "algorithm"?',
    );
    expect(issue({ type: 'hmac' })).toMatchObject({ path: ['header'], message: 'must be a header name' });
    expect(issue({ type: 'hmac', header: 'X Sig' }).message).toMatch(/must be an HTTP header name/);
    expect(issue({ type: 'hmac', header: 'X', algorithm: 'md5' }).message).toBe(
      'must be sha256, sha1 or sha512',
    );
    expect(issue({ type: 'hmac', header: 'X', signed: '{timestamp}.{body}' })).toMatchObject({
      path: ['timestampHeader'],
      message: 'is required when signed contains {timestamp}',
    });
    expect(issue({ type: 'hmac', header: 'X', timestampHeader: 'T' }).message).toMatch(
      /must contain \{timestamp\}/,
    );
    expect(issue({ type: 'hmac', header: 'X', signed: '{timestamp}' }).message).toBe(
      'must contain {body} exactly once',
    );
    expect(issue({ type: 'hmac', header: 'X', signed: '{ts}.{body}' }).message).toMatch(
      /unknown placeholder \{ts\}/,
    );
    expect(issue({ type: 'hmac', header: 'X', signed: '{id}.{body}' }).path).toEqual(['idHeader']);
  });

  it('is applied by createWebhookVerifier, as a ConfigError', () => {
    const bad = { type: 'hmac', header: 'X', signed: 'no body' } as WebhookScheme;
    expect(() => createWebhookVerifier(bad, ['a-long-enough-secret!'])).toThrow(ConfigError);
    expect(() => createWebhookVerifier(bad, ['a-long-enough-secret!'])).toThrow(
      'webhook signature scheme: signed: must contain {body} exactly once',
    );
  });
});

describe('secrets', () => {
  const catchError = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected a ConfigError');
  };

  it('needs at least one', () => {
    expect(() => createWebhookVerifier({ type: 'github' }, [])).toThrow(ConfigError);
  });

  it('refuses one under 16 bytes, naming it by position and not by value', () => {
    const error = catchError(() =>
      createWebhookVerifier({ type: 'stripe' }, ['a-long-enough-secret!', 'short-secret']),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('webhook secret 2 of 2 is too short: 12 bytes, at least 16 needed');
    expect(error.message).not.toContain('short-secret');
    expect(createWebhookVerifier({ type: 'stripe' }, ['sixteen-bytes-ok'])).toBeTypeOf('function');
  });

  it('measures a whsec_ secret of standard after decoding', () => {
    const eight = `whsec_${Buffer.alloc(8, 1).toString('base64')}`; // 18 characters, 8 bytes
    const error = catchError(() => createWebhookVerifier({ type: 'standard' }, [eight]));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('webhook secret 1 of 1 is too short: 8 bytes, at least 16 needed');
  });

  it('refuses a whsec_ secret of standard whose rest is not base64; stripe takes it as-is', () => {
    const odd = 'whsec_this is not base64 at all!';
    const error = catchError(() => createWebhookVerifier({ type: 'standard' }, [odd]));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('webhook secret 1 of 1 starts with whsec_ but the rest is not base64');
    expect(createWebhookVerifier({ type: 'stripe' }, [odd])).toBeTypeOf('function');
  });

  it('refuses a negative tolerance', () => {
    expect(() =>
      createWebhookVerifier({ type: 'github' }, ['a-long-enough-secret!'], { toleranceMs: -1 }),
    ).toThrow(ConfigError);
  });
});
