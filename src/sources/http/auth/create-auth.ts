import { z } from 'zod';
import { ConfigError } from '../../../core/errors.ts';
import type { HttpAuth, SecretReader } from '../http-types.ts';
import { ApiKeyAuth } from './api-key-auth.ts';
import { type AuthConfig, authConfigSchema } from './auth-config.ts';
import { BasicAuth } from './basic-auth.ts';
import { BearerAuth } from './bearer-auth.ts';
import { NoAuth } from './no-auth.ts';
import { OAuth2Auth } from './oauth2-auth.ts';
import type { TokenFetcher } from './token-fetcher.ts';

export interface CreateAuthOptions {
  /** Sends OAuth2 token requests. Default: Node's fetch with a 10 s timeout. */
  readonly fetchToken?: TokenFetcher;
  /** Epoch ms, for OAuth2 token expiry. Default `Date.now`. */
  readonly now?: () => number;
  /** The stream the auth signs for, named in its errors. */
  readonly stream?: string;
}

/**
 * The auth a stream's config asks for; no auth when `config` is undefined. The config is
 * validated (a ConfigError names the field), but no secret is read yet: each is read at the first
 * request, so a missing variable fails the run that needs it, not the loading of the config.
 */
export function createAuth(
  config: AuthConfig | undefined,
  secret: SecretReader,
  options: CreateAuthOptions = {},
): HttpAuth {
  if (config === undefined) return new NoAuth();
  const parsed = authConfigSchema.safeParse(config);
  if (!parsed.success) {
    const where = options.stream === undefined ? 'auth' : `stream "${options.stream}": auth`;
    throw new ConfigError(`${where}: ${z.prettifyError(parsed.error)}`, { stream: options.stream });
  }
  const valid = parsed.data;
  switch (valid.type) {
    case 'bearer':
      return new BearerAuth(valid, secret);
    case 'apiKey':
      return new ApiKeyAuth(valid, secret);
    case 'basic':
      return new BasicAuth(valid, secret);
    case 'oauth2':
      return new OAuth2Auth(valid, secret, options);
  }
}
