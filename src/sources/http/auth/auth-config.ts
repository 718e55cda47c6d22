import { z } from 'zod';
import { strictObject } from '../../../core/strict-object.ts';
import { urlProblem } from '../url-problem.ts';

/**
 * How an HTTP stream signs its requests. Secrets never appear in config: every credential is
 * named by the environment variable that holds it (`...Env`), read when the first request is
 * signed, so configs can be committed and printed.
 */
export type AuthConfig = BearerAuthConfig | ApiKeyAuthConfig | BasicAuthConfig | OAuth2AuthConfig;

/** `Authorization: Bearer <token>` with a static token. */
export interface BearerAuthConfig {
  readonly type: 'bearer';
  /** Environment variable holding the token. */
  readonly tokenEnv: string;
}

/** A static API key in a header or a query parameter. */
export interface ApiKeyAuthConfig {
  readonly type: 'apiKey';
  /** Environment variable holding the key. */
  readonly keyEnv: string;
  /**
   * Where the key goes. Default `'header'`. A key in the query ends up in URLs, which proxies and
   * servers log: prefer the header when the API accepts both.
   */
  readonly in?: 'header' | 'query';
  /** Header or query parameter name. Default `X-API-Key` in a header, `api_key` in the query. */
  readonly name?: string;
}

/** HTTP Basic (RFC 7617). Give exactly one of `username` and `usernameEnv`. */
export interface BasicAuthConfig {
  readonly type: 'basic';
  /** The user name itself, when it is not a secret. Must not contain ':'. */
  readonly username?: string;
  /** Environment variable holding the user name, when it is one. */
  readonly usernameEnv?: string;
  /** Environment variable holding the password. */
  readonly passwordEnv: string;
}

/**
 * OAuth2 client-credentials grant (RFC 6749 section 4.4): a bearer access token fetched from
 * `tokenUrl`, cached until shortly before it expires, and fetched again after a 401.
 */
export interface OAuth2AuthConfig {
  readonly type: 'oauth2';
  /** The token endpoint. Must be https, except on loopback hosts (the client secret is sent to it). */
  readonly tokenUrl: string;
  /** Environment variable holding the client id. */
  readonly clientIdEnv: string;
  /** Environment variable holding the client secret. */
  readonly clientSecretEnv: string;
  /** Space-separated scopes to request. Default: none sent (the server's default scope). */
  readonly scope?: string;
  /** The `audience` parameter some servers (Auth0 and the like) require. Default: none sent. */
  readonly audience?: string;
  /**
   * How the client authenticates to the token endpoint: `'basic'` (default; HTTP Basic, which
   * every server must support) or `'body'` (`client_id` and `client_secret` form fields).
   */
  readonly authStyle?: 'body' | 'basic';
}

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, "_")');

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The token endpoint: a URL fetch can get, https unless on loopback, without credentials in it. */
const tokenUrl = z.string().superRefine((value, ctx) => {
  const problem = urlProblem(value);
  if (problem !== null) {
    ctx.addIssue({ code: 'custom', message: problem });
    return;
  }
  const url = new URL(value);
  if (url.protocol !== 'https:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an https URL (plain http only on localhost): the client secret is sent to it',
    });
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'must not contain credentials; use clientIdEnv and clientSecretEnv',
    });
  }
});

/** Validates an `AuthConfig` from JSON/YAML (or a typed config, to catch what types cannot). */
export const authConfigSchema: z.ZodType<AuthConfig> = z.discriminatedUnion(
  'type',
  [
    strictObject({ type: z.literal('bearer'), tokenEnv: envName }),
    strictObject({
      type: z.literal('apiKey'),
      keyEnv: envName,
      in: z.enum(['header', 'query']).optional(),
      name: z.string().min(1, 'must be a non-empty header or parameter name').optional(),
    }),
    z
      .strictObject({
        type: z.literal('basic'),
        username: z
          .string()
          .refine((name) => !name.includes(':'), 'must not contain ":"')
          .optional(),
        usernameEnv: envName.optional(),
        passwordEnv: envName,
      })
      .refine(
        (basic) => (basic.username === undefined) !== (basic.usernameEnv === undefined),
        'basic auth needs exactly one of username and usernameEnv',
      ),
    strictObject({
      type: z.literal('oauth2'),
      tokenUrl,
      clientIdEnv: envName,
      clientSecretEnv: envName,
      scope: z.string().min(1).optional(),
      audience: z.string().min(1).optional(),
      authStyle: z.enum(['body', 'basic']).optional(),
    }),
  ],
  { error: 'must have a type of "bearer", "apiKey", "basic" or "oauth2"' },
);
