import { inspect } from 'node:util';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import type { BearerAuthConfig } from './auth-config.ts';
import { readSecret } from './read-secret.ts';
import { setHeader } from './set-header.ts';

/** `Authorization: Bearer <token>` with a static token. A 401 is fatal: it cannot be refreshed. */
export class BearerAuth implements HttpAuth {
  readonly #config: BearerAuthConfig;
  readonly #secret: SecretReader;
  /** Read at the first request, not at construction, so loading a config needs no secrets. */
  #token: string | undefined;

  constructor(config: BearerAuthConfig, secret: SecretReader) {
    this.#config = config;
    this.#secret = secret;
  }

  async apply(request: OutgoingRequest): Promise<void> {
    this.#token ??= readSecret(this.#secret, this.#config.tokenEnv);
    setHeader(request.headers, 'Authorization', `Bearer ${this.#token}`);
  }

  async refresh(): Promise<boolean> {
    return false;
  }

  secrets(): readonly string[] {
    return this.#token === undefined ? [] : [this.#token];
  }

  toJSON(): BearerAuthConfig {
    return { type: 'bearer', tokenEnv: this.#config.tokenEnv };
  }

  toString(): string {
    return `BearerAuth(tokenEnv=${this.#config.tokenEnv})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
