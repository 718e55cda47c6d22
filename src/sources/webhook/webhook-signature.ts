import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.ts';
import { firstIssue, strictObject } from '../../core/strict-object.ts';

/**
 * The verification of one incoming webhook request: is it signed by a holder of one of the stream's
 * secrets, and is it fresh? Pure: no I/O, the clock is an option. The signature is computed over
 * the raw body bytes as received (never a re-serialised parse), and compared in constant time with
 * `timingSafeEqual`, against every active secret (rotation: any one matching passes).
 */

export type HmacAlgorithm = 'sha256' | 'sha1' | 'sha512';

/** How a webhook's sender signs it: the shape a user writes in a config. */
export type WebhookScheme =
  /** Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> ...`. */
  | { type: 'standard' }
  /** Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`. */
  | { type: 'stripe' }
  /** GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body; event id `X-GitHub-Delivery`. */
  | { type: 'github' }
  /** A generic HMAC over a template of `{body}`, `{timestamp}` and `{id}`. */
  | {
      type: 'hmac';
      /** The header carrying the signature. */
      header: string;
      /** Default sha256. */
      algorithm?: HmacAlgorithm;
      /** How the signature is written in the header. Default hex. */
      encoding?: 'hex' | 'base64';
      /** Text before the signature in the header, e.g. `sha256=`. */
      prefix?: string;
      /** What is signed: a template over `{body}` (exactly once), `{timestamp}`, `{id}`. Default `{body}`. */
      signed?: string;
      /** The header carrying the unix time in seconds; required by, and requires, `{timestamp}`. */
      timestampHeader?: string;
      /** The header carrying the event id; required by `{id}`. */
      idHeader?: string;
    };

/** One request as the verifier sees it. */
export interface WebhookRequest {
  /** A header's value; looked up with lower-case names, so it must ignore case (as `Headers.get` does). */
  headers: (name: string) => string | undefined;
  /** The body exactly as received. */
  body: Buffer;
}

export type WebhookVerdict =
  | {
      ok: true;
      /** The event id the headers carry (null if the scheme has none: Stripe's is in the body). */
      eventId: string | null;
      /** The signed timestamp, epoch ms (null if the scheme has none). */
      timestamp: number | null;
    }
  | {
      ok: false;
      /** 400: a malformed signature header or timestamp; 401: a missing, wrong or stale signature. */
      status: 400 | 401;
      /** One line, what is wrong; never a secret or the expected signature. */
      reason: string;
    };

export type WebhookVerifier = (request: WebhookRequest) => WebhookVerdict;

export interface WebhookVerifierOptions {
  /** How far a signed timestamp may be from now, either way. Default 5 minutes. */
  toleranceMs?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;

/** The fewest bytes a secret may have (after decoding). */
const MIN_SECRET_BYTES = 16;
const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDERS = ['body', 'timestamp', 'id'];
/** RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
/** Base64 (or base64url), padding optional. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
/** Unix seconds: digits only (no sign, no fraction, no exponent), up to year 5138. */
const UNIX_SECONDS = /^\d{1,11}$/;

const headerName = z
  .string({ error: 'must be a header name' })
  .regex(HEADER_NAME, 'must be an HTTP header name (letters, digits and -)');

export const webhookSchemeSchema = z.discriminatedUnion(
  'type',
  [
    strictObject({ type: z.literal('standard') }),
    strictObject({ type: z.literal('stripe') }),
    strictObject({ type: z.literal('github') }),
    strictObject({
      type: z.literal('hmac'),
      header: headerName,
      algorithm: z.enum(['sha256', 'sha1', 'sha512'], { error: 'must be sha256, sha1 or sha512' }).optional(),
      encoding: z.enum(['hex', 'base64'], { error: 'must be hex or base64' }).optional(),
      prefix: z.string({ error: 'must be a string, e.g. "sha256="' }).optional(),
      signed: z.string({ error: 'must be a template such as "{timestamp}.{body}"' }).optional(),
      timestampHeader: headerName.optional(),
      idHeader: headerName.optional(),
    }).superRefine((scheme, ctx) => {
      const problem = templateProblem(scheme);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: [problem.key], message: problem.message });
    }),
  ],
  { error: 'must have a type: standard, stripe, github or hmac' },
);

// The schema's output is a WebhookScheme: they cannot drift apart.
type Assignable<T extends WebhookScheme> = T;
export type ParsedWebhookScheme = Assignable<z.output<typeof webhookSchemeSchema>>;

type HmacScheme = Extract<WebhookScheme, { type: 'hmac' }>;

/** What is wrong with an hmac scheme's template and its headers, or null. */
function templateProblem(scheme: HmacScheme): { key: keyof HmacScheme; message: string } | null {
  const signed = scheme.signed ?? '{body}';
  const names = [...signed.matchAll(PLACEHOLDER)].map((m) => m[1]!);
  const unknown = names.find((name) => !PLACEHOLDERS.includes(name));
  if (unknown !== undefined) {
    return { key: 'signed', message: `unknown placeholder {${unknown}}; use {body}, {timestamp} or {id}` };
  }
  const bodies = names.filter((name) => name === 'body').length;
  if (bodies !== 1) return { key: 'signed', message: 'must contain {body} exactly once' };
  const timestamped = names.includes('timestamp');
  if (timestamped && scheme.timestampHeader === undefined) {
    return { key: 'timestampHeader', message: 'is required when signed contains {timestamp}' };
  }
  if (!timestamped && scheme.timestampHeader !== undefined) {
    return {
      key: 'signed',
      message: 'must contain {timestamp} when timestampHeader is set (an unsigned timestamp can be forged)',
    };
  }
  if (names.includes('id') && scheme.idHeader === undefined) {
    return { key: 'idHeader', message: 'is required when signed contains {id}' };
  }
  return null;
}

function checkScheme(scheme: unknown): WebhookScheme {
  const result = webhookSchemeSchema.safeParse(scheme);
  if (result.success) return result.data;
  const issue = firstIssue(result.error.issues);
  const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new ConfigError(`webhook signature scheme: ${path}${issue.message}`);
}

/**
 * A secret's key bytes. Standard Webhooks' `whsec_<base64>` is base64-decoded; every other secret
 * (Stripe's `whsec_...` too) is its UTF-8 bytes. `label` names it in errors, never its value.
 */
function secretKey(scheme: WebhookScheme, secret: unknown, label: string): Buffer {
  if (typeof secret !== 'string') throw new ConfigError(`${label} is not a string`);
  let key: Buffer;
  if (scheme.type === 'standard' && secret.startsWith('whsec_')) {
    const decoded = decodeBase64(secret.slice('whsec_'.length));
    if (decoded === null) throw new ConfigError(`${label} starts with whsec_ but the rest is not base64`);
    key = decoded;
  } else {
    key = Buffer.from(secret, 'utf8');
  }
  if (key.length < MIN_SECRET_BYTES) {
    throw new ConfigError(`${label} is too short: ${key.length} bytes, at least ${MIN_SECRET_BYTES} needed`);
  }
  return key;
}

function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
}

function decodeHex(text: string): Buffer | null {
  return HEX.test(text) ? Buffer.from(text, 'hex') : null;
}

/** What a scheme's headers say: the signatures to check and what was signed. */
interface Parsed {
  /** The signatures offered (decoded); any one matching any secret passes. */
  signatures: Buffer[];
  /** The signed content, in pieces; the body is one of them, as bytes. */
  content: (string | Buffer)[];
  algorithm: HmacAlgorithm;
  /** Unix seconds, if the scheme signs one. */
  timestampSeconds: number | null;
  eventId: string | null;
}

type Failure = Extract<WebhookVerdict, { ok: false }>;

const missing = (header: string): Failure => ({ ok: false, status: 401, reason: `missing ${header} header` });
const malformed = (header: string, why: string): Failure => ({
  ok: false,
  status: 400,
  reason: `malformed ${header} header: ${why}`,
});

function parseTimestamp(header: string, value: string): number | Failure {
  const text = value.trim();
  return UNIX_SECONDS.test(text) ? Number(text) : malformed(header, 'not a unix time in seconds');
}

function parseStandard(request: WebhookRequest): Parsed | Failure {
  const id = request.headers('webhook-id');
  const timestamp = request.headers('webhook-timestamp');
  const header = request.headers('webhook-signature');
  if (header === undefined || header.trim() === '') return missing('webhook-signature');
  if (id === undefined || id === '') return missing('webhook-id');
  if (timestamp === undefined || timestamp.trim() === '') return missing('webhook-timestamp');
  const seconds = parseTimestamp('webhook-timestamp', timestamp);
  if (typeof seconds !== 'number') return seconds;
  const signatures: Buffer[] = [];
  for (const entry of header.trim().split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma <= 0) return malformed('webhook-signature', 'an entry is not "<version>,<signature>"');
    if (entry.slice(0, comma) !== 'v1') continue; // another version (v1a is asymmetric): not ours to check
    const decoded = decodeBase64(entry.slice(comma + 1));
    if (decoded === null) return malformed('webhook-signature', 'a v1 signature is not base64');
    signatures.push(decoded);
  }
  if (signatures.length === 0)
    return { ok: false, status: 401, reason: 'no v1 signature in webhook-signature' };
  return {
    signatures,
    content: [`${id}.${seconds}.`, request.body],
    algorithm: 'sha256',
    timestampSeconds: seconds,
    eventId: id,
  };
}

function parseStripe(request: WebhookRequest): Parsed | Failure {
  const name = 'Stripe-Signature';
  const header = request.headers('stripe-signature');
  if (header === undefined || header.trim() === '') return missing(name);
  let t: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const equals = item.indexOf('=');
    if (equals <= 0) return malformed(name, 'an item is not "<key>=<value>"');
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === 't') {
      if (t !== undefined) return malformed(name, 't is given twice');
      t = value;
    } else if (key === 'v1') {
      const decoded = decodeHex(value);
      if (decoded === null) return malformed(name, 'a v1 signature is not hex');
      signatures.push(decoded);
    } // v0 (test mode's legacy scheme) and unknown keys are ignored, as Stripe's libraries do
  }
  if (t === undefined) return malformed(name, 'no t=<timestamp>');
  const seconds = parseTimestamp(name, t);
  if (typeof seconds !== 'number') return seconds;
  if (signatures.length === 0) return { ok: false, status: 401, reason: `no v1 signature in ${name}` };
  return {
    signatures,
    content: [`${t.trim()}.`, request.body],
    algorithm: 'sha256',
    timestampSeconds: seconds,
    eventId: null,
  };
}

function parseGithub(request: WebhookRequest): Parsed | Failure {
  const name = 'X-Hub-Signature-256';
  const header = request.headers('x-hub-signature-256');
  if (header === undefined || header.trim() === '') return missing(name);
  const value = header.trim();
  if (!value.startsWith('sha256=')) return malformed(name, 'does not start with sha256=');
  const decoded = decodeHex(value.slice('sha256='.length));
  if (decoded === null) return malformed(name, 'the signature is not hex');
  const delivery = request.headers('x-github-delivery');
  return {
    signatures: [decoded],
    content: [request.body],
    algorithm: 'sha256',
    timestampSeconds: null,
    eventId: delivery === undefined || delivery === '' ? null : delivery,
  };
}

function parseHmac(scheme: HmacScheme, request: WebhookRequest): Parsed | Failure {
  const header = request.headers(scheme.header.toLowerCase());
  if (header === undefined || header.trim() === '') return missing(scheme.header);
  const value = header.trim();
  const prefix = scheme.prefix ?? '';
  if (!value.startsWith(prefix)) return malformed(scheme.header, `does not start with ${prefix}`);
  const encoding = scheme.encoding ?? 'hex';
  const rest = value.slice(prefix.length);
  const decoded = encoding === 'hex' ? decodeHex(rest) : decodeBase64(rest);
  if (decoded === null) return malformed(scheme.header, `the signature is not ${encoding}`);
  let timestamp: string | null = null;
  let seconds: number | null = null;
  if (scheme.timestampHeader !== undefined) {
    const text = request.headers(scheme.timestampHeader.toLowerCase());
    if (text === undefined || text.trim() === '') return missing(scheme.timestampHeader);
    const parsed = parseTimestamp(scheme.timestampHeader, text);
    if (typeof parsed !== 'number') return parsed;
    timestamp = text.trim();
    seconds = parsed;
  }
  let id: string | null = null;
  if (scheme.idHeader !== undefined) {
    const text = request.headers(scheme.idHeader.toLowerCase());
    if (text !== undefined && text !== '') id = text;
  }
  const content: (string | Buffer)[] = [];
  for (const piece of (scheme.signed ?? '{body}').split(/(\{(?:body|timestamp|id)\})/)) {
    if (piece === '{body}') content.push(request.body);
    else if (piece === '{timestamp}') content.push(timestamp ?? '');
    else if (piece === '{id}') {
      if (id === null) return missing(scheme.idHeader!);
      content.push(id);
    } else if (piece !== '') content.push(piece);
  }
  return {
    signatures: [decoded],
    content,
    algorithm: scheme.algorithm ?? 'sha256',
    timestampSeconds: seconds,
    eventId: id,
  };
}

function parse(scheme: WebhookScheme, request: WebhookRequest): Parsed | Failure {
  switch (scheme.type) {
    case 'standard':
      return parseStandard(request);
    case 'stripe':
      return parseStripe(request);
    case 'github':
      return parseGithub(request);
    case 'hmac':
      return parseHmac(scheme, request);
  }
}

function mac(algorithm: HmacAlgorithm, key: Buffer, content: readonly (string | Buffer)[]): Buffer {
  const hmac = createHmac(algorithm, key);
  for (const piece of content) hmac.update(piece);
  return hmac.digest();
}

/**
 * A verifier for one stream's webhooks. Throws a ConfigError for a malformed scheme, no secrets, a
 * secret under 16 bytes (after decoding) or a `whsec_` secret (standard) that is not base64.
 */
export function createWebhookVerifier(
  scheme: WebhookScheme,
  secrets: readonly string[],
  options: WebhookVerifierOptions = {},
): WebhookVerifier {
  const checked = checkScheme(scheme);
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new ConfigError('webhook secrets: none given; a webhook needs at least one secret to verify it');
  }
  const keys = secrets.map((secret, i) =>
    secretKey(checked, secret, `webhook secret ${i + 1} of ${secrets.length}`),
  );
  const toleranceMs = options.toleranceMs ?? DEFAULT_WEBHOOK_TOLERANCE_MS;
  if (!Number.isFinite(toleranceMs) || toleranceMs < 0) {
    throw new ConfigError('webhook toleranceMs: must be a number of milliseconds, 0 or more');
  }
  const now = options.now ?? Date.now;

  return (request) => {
    const parsed = parse(checked, request);
    if ('ok' in parsed) return parsed;
    // Every secret against every signature, no early exit: the time taken says nothing about which
    // (or whether one) matched. A length that differs from the digest's is not a match (and public).
    let matched = false;
    for (const key of keys) {
      const expected = mac(parsed.algorithm, key, parsed.content);
      for (const signature of parsed.signatures) {
        if (signature.length === expected.length && timingSafeEqual(signature, expected)) matched = true;
      }
    }
    if (!matched) return { ok: false, status: 401, reason: 'the signature does not match' };
    if (parsed.timestampSeconds === null) return { ok: true, eventId: parsed.eventId, timestamp: null };
    const timestamp = parsed.timestampSeconds * 1000;
    const age = now() - timestamp;
    if (Math.abs(age) > toleranceMs) {
      const seconds = Math.round(Math.abs(age) / 1000);
      const when = age > 0 ? `${seconds}s old` : `${seconds}s in the future`;
      return {
        ok: false,
        status: 401,
        reason: `the signed timestamp is ${when} (tolerance ${Math.round(toleranceMs / 1000)}s)`,
      };
    }
    return { ok: true, eventId: parsed.eventId, timestamp };
  };
}

export interface WebhookToSign {
  body: Buffer | string;
  /** The event id (standard: `webhook-id`, default a random `msg_...`; github: `X-GitHub-Delivery`; hmac: `idHeader`). */
  id?: string;
  /** Epoch ms, default now; sent as unix seconds. */
  timestamp?: number;
}

/**
 * The headers a sender of `scheme` would send with `body`, signed with `secret`: what the verifier
 * accepts (and, for `standard`, what the `standardwebhooks` package sends). For tests and examples.
 */
export function signWebhook(
  scheme: WebhookScheme,
  secret: string,
  message: WebhookToSign,
): Record<string, string> {
  const checked = checkScheme(scheme);
  const key = secretKey(checked, secret, 'the webhook secret');
  const body = typeof message.body === 'string' ? Buffer.from(message.body, 'utf8') : message.body;
  const seconds = String(Math.floor((message.timestamp ?? Date.now()) / 1000));
  switch (checked.type) {
    case 'standard': {
      const id = message.id ?? `msg_${randomUUID()}`;
      const signature = mac('sha256', key, [`${id}.${seconds}.`, body]).toString('base64');
      return { 'webhook-id': id, 'webhook-timestamp': seconds, 'webhook-signature': `v1,${signature}` };
    }
    case 'stripe':
      return {
        'Stripe-Signature': `t=${seconds},v1=${mac('sha256', key, [`${seconds}.`, body]).toString('hex')}`,
      };
    case 'github': {
      const headers: Record<string, string> = {
        'X-Hub-Signature-256': `sha256=${mac('sha256', key, [body]).toString('hex')}`,
      };
      if (message.id !== undefined) headers['X-GitHub-Delivery'] = message.id;
      return headers;
    }
    case 'hmac': {
      const id = message.id ?? (checked.idHeader === undefined ? undefined : randomUUID());
      const content = (checked.signed ?? '{body}')
        .split(/(\{(?:body|timestamp|id)\})/)
        .map((piece) =>
          piece === '{body}' ? body : piece === '{timestamp}' ? seconds : piece === '{id}' ? id! : piece,
        );
      const signature = mac(checked.algorithm ?? 'sha256', key, content).toString(checked.encoding ?? 'hex');
      const headers: Record<string, string> = { [checked.header]: `${checked.prefix ?? ''}${signature}` };
      if (checked.timestampHeader !== undefined) headers[checked.timestampHeader] = seconds;
      if (checked.idHeader !== undefined && id !== undefined) headers[checked.idHeader] = id;
      return headers;
    }
  }
}
