import { inspect } from 'node:util';
import { ConfigError } from '../../../core/errors.ts';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import type { BasicAuthConfig } from './auth-config.ts';
import { basicCredential } from './basic-credential.ts';
import { readSecret } from './read-secret.ts';
import { setHeader } from './set-header.ts';

/** HTTP Basic (RFC 7617) with a static user and password. A 401 is fatal. */
export class BasicAuth implements HttpAuth {
  readonly #config: BasicAuthConfig;
  readonly #secret: SecretReader;
  /** Read at the first request, not at construction, so loading a config needs no secrets. */
  #password: string | undefined;
  /** The base64 `user:password`, itself a secret: it decodes to the password. */
  #credential: string | undefined;

  constructor(config: BasicAuthConfig, secret: SecretReader) {
    this.#config = config;
    this.#secret = secret;
  }

  async apply(request: OutgoingRequest): Promise<void> {
    this.#credential ??= this.#encode();
    setHeader(request.headers, 'Authorization', `Basic ${this.#credential}`);
  }

  async refresh(): Promise<boolean> {
    return false;
  }

  secrets(): readonly string[] {
    const out: string[] = [];
    if (this.#password !== undefined) out.push(this.#password);
    if (this.#credential !== undefined) out.push(this.#credential);
    return out;
  }

  toJSON(): BasicAuthConfig {
    const { username, usernameEnv, passwordEnv } = this.#config;
    return usernameEnv === undefined
      ? { type: 'basic', username, passwordEnv }
      : { type: 'basic', usernameEnv, passwordEnv };
  }

  toString(): string {
    const { username, usernameEnv, passwordEnv } = this.#config;
    const user = usernameEnv === undefined ? `username=${username}` : `usernameEnv=${usernameEnv}`;
    return `BasicAuth(${user}, passwordEnv=${passwordEnv})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #encode(): string {
    const { username, usernameEnv, passwordEnv } = this.#config;
    const user = usernameEnv === undefined ? (username ?? '') : readSecret(this.#secret, usernameEnv);
    if (user.includes(':')) {
      // RFC 7617: the server would split at the first ':' and see another user.
      const where = usernameEnv === undefined ? 'basic auth username' : `environment variable ${usernameEnv}`;
      throw new ConfigError(`${where} contains ":", which HTTP Basic cannot carry in a user name`);
    }
    this.#password = readSecret(this.#secret, passwordEnv);
    return basicCredential(user, this.#password);
  }
}
