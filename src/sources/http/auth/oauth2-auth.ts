import { inspect } from 'node:util';
import { SyncError, TransientError } from '../../../core/errors.ts';
import { redactUrl } from '../../../core/redact-url.ts';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import type { OAuth2AuthConfig } from './auth-config.ts';
import { basicCredential } from './basic-credential.ts';
import { type AccessToken, parseTokenResponse } from './parse-token-response.ts';
import { readSecret } from './read-secret.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import { setHeader } from './set-header.ts';
import { SingleFlight } from './single-flight.ts';
import { requestToken, type TokenFetcher } from './token-fetcher.ts';

export interface OAuth2AuthOptions {
  /** Sends token requests. Default `requestToken` (Node's fetch, 10 s timeout). */
  readonly fetchToken?: TokenFetcher;
  /** Epoch ms, for token expiry. Default `Date.now`; tests inject a clock. */
  readonly now?: () => number;
  /** The stream this auth signs for, named in its errors. */
  readonly stream?: string;
}

interface CachedToken extends AccessToken {
  /** Fetched by `refresh()` after a 401 rather than for expiry or a first use. */
  readonly fromRefresh: boolean;
}

interface Client {
  readonly id: string;
  readonly secret: string;
  /** The base64 Basic credential, when the client authenticates by HTTP Basic. */
  readonly basic: string | undefined;
}

/**
 * OAuth2 client-credentials grant (RFC 6749 4.4). The access token is fetched at the first
 * request, cached, fetched again shortly before it expires and after a 401, and shared: callers
 * that need a token while one is being fetched wait for that fetch rather than start their own.
 */
export class OAuth2Auth implements HttpAuth {
  readonly #config: OAuth2AuthConfig;
  readonly #secret: SecretReader;
  readonly #fetchToken: TokenFetcher;
  readonly #now: () => number;
  readonly #stream: string | undefined;
  readonly #url: string;
  readonly #flight = new SingleFlight<CachedToken>();
  /** Read at the first request, not at construction, so loading a config needs no secrets. */
  #client: Client | undefined;
  #token: CachedToken | undefined;
  /** Requests signed with the current token; tells a stale 401 from a refused new token. */
  #signed = 0;

  constructor(config: OAuth2AuthConfig, secret: SecretReader, options: OAuth2AuthOptions = {}) {
    this.#config = config;
    this.#secret = secret;
    this.#fetchToken = options.fetchToken ?? ((request) => requestToken(request));
    this.#now = options.now ?? Date.now;
    this.#stream = options.stream;
    this.#url = redactUrl(config.tokenUrl);
  }

  async apply(request: OutgoingRequest, signal: AbortSignal): Promise<void> {
    const token = await this.#usableToken(signal);
    if (token === this.#token) this.#signed++;
    setHeader(request.headers, 'Authorization', `Bearer ${token.value}`);
  }

  /**
   * After a 401. The contract gives no word of which token the refused request carried, nor of
   * later successes, so this infers them from the requests signed since the last refresh
   * (pagination signs one request at a time):
   * - a fetch is under way: wait for it, then retry;
   * - the token came from a refresh and no request carried it yet: the 401 answered a request
   *   signed with the older token, so retry with the new one, fetching nothing;
   * - the token came from a refresh and exactly one request carried it: that request was refused,
   *   so the new token is no better: false (fatal), with no second fetch;
   * - otherwise (a first token refused, or a refreshed one that served other requests since and is
   *   now revoked): fetch a new token, true.
   */
  async refresh(signal: AbortSignal): Promise<boolean> {
    if (this.#flight.active) {
      await this.#fetch(signal, true);
      return true;
    }
    if (this.#token?.fromRefresh === true) {
      if (this.#signed === 0) return true;
      if (this.#signed === 1) return false;
    }
    // Drop the refused token first, so requests signed meanwhile wait for the new one.
    this.#token = undefined;
    await this.#fetch(signal, true);
    return true;
  }

  secrets(): readonly string[] {
    const out: string[] = [];
    if (this.#client !== undefined) {
      out.push(this.#client.secret);
      if (this.#client.basic !== undefined) out.push(this.#client.basic);
    }
    if (this.#token !== undefined) out.push(this.#token.value);
    return out;
  }

  toJSON(): OAuth2AuthConfig {
    const { tokenUrl, clientIdEnv, clientSecretEnv, scope, audience, authStyle } = this.#config;
    return {
      type: 'oauth2',
      tokenUrl: redactUrl(tokenUrl),
      clientIdEnv,
      clientSecretEnv,
      scope,
      audience,
      authStyle: authStyle ?? 'basic',
    };
  }

  toString(): string {
    const { clientIdEnv, clientSecretEnv } = this.#config;
    return `OAuth2Auth(tokenUrl=${this.#url}, clientIdEnv=${clientIdEnv}, clientSecretEnv=${clientSecretEnv})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** The cached token while it is fresh; else a new one, or the old one if still valid and the
   * endpoint is only briefly unreachable (a failed proactive refresh should not fail a request). */
  async #usableToken(signal: AbortSignal): Promise<CachedToken> {
    const token = this.#token;
    if (token !== undefined && (token.refreshAt === null || this.#now() < token.refreshAt)) return token;
    try {
      return await this.#fetch(signal, false);
    } catch (error) {
      const stillValid = token?.expiresAt != null && this.#now() < token.expiresAt;
      if (error instanceof TransientError && stillValid && token === this.#token) return token;
      throw error;
    }
  }

  #fetch(signal: AbortSignal, fromRefresh: boolean): Promise<CachedToken> {
    return this.#flight.run(signal, async (flightSignal) => {
      const token: CachedToken = { ...(await this.#requestToken(flightSignal)), fromRefresh };
      this.#token = token;
      this.#signed = 0;
      return token;
    });
  }

  async #requestToken(signal: AbortSignal): Promise<AccessToken> {
    const client = this.#readClient();
    const { tokenUrl, scope, audience, clientIdEnv, clientSecretEnv } = this.#config;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope !== undefined) form.set('scope', scope);
    if (audience !== undefined) form.set('audience', audience);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    if (client.basic !== undefined) headers['Authorization'] = `Basic ${client.basic}`;
    else {
      form.set('client_id', client.id);
      form.set('client_secret', client.secret);
    }
    const scrub = (text: string): string => scrubSecrets(text, this.secrets());
    const requestedAt = this.#now();
    let response: Awaited<ReturnType<TokenFetcher>>;
    try {
      response = await this.#fetchToken({ url: tokenUrl, headers, body: form.toString(), signal });
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof SyncError) {
        // An injected fetcher may have quoted the request; ours never does.
        error.message = scrub(error.message);
        if (error.stack !== undefined) error.stack = scrub(error.stack);
        throw error;
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransientError(`OAuth2 token request to ${this.#url} failed: ${scrub(reason)}`, {
        stream: this.#stream,
      });
    }
    return parseTokenResponse(response, {
      url: this.#url,
      requestedAt,
      clientIdEnv,
      clientSecretEnv,
      stream: this.#stream,
      scrub,
    });
  }

  #readClient(): Client {
    if (this.#client !== undefined) return this.#client;
    const id = readSecret(this.#secret, this.#config.clientIdEnv);
    const secret = readSecret(this.#secret, this.#config.clientSecretEnv);
    // RFC 6749 2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    const basic =
      (this.#config.authStyle ?? 'basic') === 'basic'
        ? basicCredential(formEncode(id), formEncode(secret))
        : undefined;
    this.#client = { id, secret, basic };
    return this.#client;
  }
}

function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}
