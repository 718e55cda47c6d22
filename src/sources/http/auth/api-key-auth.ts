import { inspect } from 'node:util';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import type { ApiKeyAuthConfig } from './auth-config.ts';
import { readSecret } from './read-secret.ts';
import { setHeader } from './set-header.ts';

/** Default header for a key sent in a header. */
export const DEFAULT_API_KEY_HEADER = 'X-API-Key';
/** Default query parameter for a key sent in the query. */
export const DEFAULT_API_KEY_PARAM = 'api_key';

/** A static API key in a header or a query parameter. A 401 is fatal: it cannot be refreshed. */
export class ApiKeyAuth implements HttpAuth {
  readonly #keyEnv: string;
  readonly #in: 'header' | 'query';
  readonly #name: string;
  readonly #secret: SecretReader;
  /** Read at the first request, not at construction, so loading a config needs no secrets. */
  #key: string | undefined;

  constructor(config: ApiKeyAuthConfig, secret: SecretReader) {
    this.#keyEnv = config.keyEnv;
    this.#in = config.in ?? 'header';
    this.#name = config.name ?? (this.#in === 'header' ? DEFAULT_API_KEY_HEADER : DEFAULT_API_KEY_PARAM);
    this.#secret = secret;
  }

  async apply(request: OutgoingRequest): Promise<void> {
    this.#key ??= readSecret(this.#secret, this.#keyEnv);
    if (this.#in === 'header') setHeader(request.headers, this.#name, this.#key);
    // `set`, not `append`: a request signed twice (a retry) still carries one key.
    else request.url.searchParams.set(this.#name, this.#key);
  }

  async refresh(): Promise<boolean> {
    return false;
  }

  secrets(): readonly string[] {
    return this.#key === undefined ? [] : [this.#key];
  }

  toJSON(): ApiKeyAuthConfig {
    return { type: 'apiKey', keyEnv: this.#keyEnv, in: this.#in, name: this.#name };
  }

  toString(): string {
    return `ApiKeyAuth(keyEnv=${this.#keyEnv}, in=${this.#in}, name=${this.#name})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
