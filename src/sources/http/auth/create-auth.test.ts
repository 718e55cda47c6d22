import { inspect } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors.ts';
import { type SimulatorServer, startSimulator } from '../../../simulator/index.ts';
import type { HttpAuth, OutgoingRequest, SecretReader } from '../http-types.ts';
import { type AuthConfig, authConfigSchema } from './auth-config.ts';
import { createAuth } from './create-auth.ts';

/** A SecretReader over a fixed map, failing like the real one on an unset variable. */
function secrets(values: Record<string, string>): SecretReader & { reads: string[] } {
  const reads: string[] = [];
  const reader = (name: string): string => {
    reads.push(name);
    const value = values[name];
    if (value === undefined) throw new ConfigError(`environment variable ${name} is not set`);
    return value;
  };
  return Object.assign(reader, { reads });
}

function outgoing(url = 'https://api.example.com/v1/items?limit=10'): OutgoingRequest {
  return { url: new URL(url), headers: { Accept: 'application/json' } };
}

const signal = new AbortController().signal;

async function signed(auth: HttpAuth, url?: string): Promise<OutgoingRequest> {
  const req = outgoing(url);
  await auth.apply(req, signal);
  return req;
}

describe('createAuth', () => {
  it('signs nothing without config, and refuses to refresh', async () => {
    const auth = createAuth(undefined, secrets({}));
    const req = await signed(auth);
    expect(req.headers).toEqual({ Accept: 'application/json' });
    expect(req.url.toString()).toBe('https://api.example.com/v1/items?limit=10');
    expect(await auth.refresh(signal)).toBe(false);
    expect(auth.secrets()).toEqual([]);
  });

  it('sends a bearer token in Authorization, replacing any other spelling of the header', async () => {
    const auth = createAuth({ type: 'bearer', tokenEnv: 'API_TOKEN' }, secrets({ API_TOKEN: 't0k' }));
    const req = outgoing();
    req.headers['authorization'] = 'Bearer stale';
    await auth.apply(req, signal);
    expect(req.headers).toEqual({ Accept: 'application/json', Authorization: 'Bearer t0k' });
    expect(await auth.refresh(signal)).toBe(false);
    expect(auth.secrets()).toEqual(['t0k']);
  });

  it('sends an API key in X-API-Key by default, or in a named header', async () => {
    const env = secrets({ KEY: 'k3y' });
    expect((await signed(createAuth({ type: 'apiKey', keyEnv: 'KEY' }, env))).headers['X-API-Key']).toBe(
      'k3y',
    );
    const named = await signed(createAuth({ type: 'apiKey', keyEnv: 'KEY', name: 'Api-Token' }, env));
    expect(named.headers['Api-Token']).toBe('k3y');
    expect(named.url.searchParams.has('api_key')).toBe(false);
  });

  it('sends an API key as api_key in the query by default, once even when signed twice', async () => {
    const auth = createAuth({ type: 'apiKey', keyEnv: 'KEY', in: 'query' }, secrets({ KEY: 'k 3y&' }));
    const req = outgoing();
    await auth.apply(req, signal);
    await auth.apply(req, signal);
    expect(req.url.searchParams.getAll('api_key')).toEqual(['k 3y&']);
    expect(req.url.searchParams.get('limit')).toBe('10');
    expect(req.headers).toEqual({ Accept: 'application/json' });
    const named = await signed(
      createAuth({ type: 'apiKey', keyEnv: 'KEY', in: 'query', name: 'key' }, secrets({ KEY: 'x' })),
    );
    expect(named.url.searchParams.get('key')).toBe('x');
  });

  it('sends HTTP Basic with a literal or an environment user name', async () => {
    const literal = await signed(
      createAuth({ type: 'basic', username: 'ann', passwordEnv: 'PW' }, secrets({ PW: 'pässword' })),
    );
    expect(literal.headers['Authorization']).toBe(`Basic ${Buffer.from('ann:pässword').toString('base64')}`);
    const fromEnv = createAuth(
      { type: 'basic', usernameEnv: 'USER', passwordEnv: 'PW' },
      secrets({ USER: 'bob', PW: 'pw' }),
    );
    expect((await signed(fromEnv)).headers['Authorization']).toBe('Basic Ym9iOnB3');
    expect(await fromEnv.refresh(signal)).toBe(false);
    expect(fromEnv.secrets()).toEqual(['pw', 'Ym9iOnB3']);
  });

  it('refuses a user name from the environment that contains ":", naming the variable', async () => {
    const auth = createAuth(
      { type: 'basic', usernameEnv: 'USER', passwordEnv: 'PW' },
      secrets({ USER: 'a:b', PW: 'pw' }),
    );
    await expect(auth.apply(outgoing(), signal)).rejects.toThrow(/USER contains ":"/);
  });

  it.each<[string, AuthConfig, string]>([
    ['bearer', { type: 'bearer', tokenEnv: 'MISSING_TOKEN' }, 'MISSING_TOKEN'],
    ['apiKey', { type: 'apiKey', keyEnv: 'MISSING_KEY' }, 'MISSING_KEY'],
    ['basic', { type: 'basic', username: 'u', passwordEnv: 'MISSING_PW' }, 'MISSING_PW'],
    [
      'oauth2',
      {
        type: 'oauth2',
        tokenUrl: 'https://auth.example.com/token',
        clientIdEnv: 'CID',
        clientSecretEnv: 'MISSING_CS',
      },
      'MISSING_CS',
    ],
  ])(
    '%s: reads no secret until the first request, then fails with a ConfigError naming the variable',
    async (_, config, missing) => {
      const env = secrets({ CID: 'client' });
      const auth = createAuth(config, env, {
        fetchToken: () => Promise.reject(new Error('no token request expected')),
      });
      expect(env.reads).toEqual([]);
      const error = await auth.apply(outgoing(), signal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(missing);
    },
  );

  it('refuses an empty secret or one with a line break, naming the variable and not the value', async () => {
    const empty = createAuth({ type: 'bearer', tokenEnv: 'T' }, secrets({ T: '' }));
    await expect(empty.apply(outgoing(), signal)).rejects.toThrow(/T is empty/);
    const newline = createAuth({ type: 'bearer', tokenEnv: 'T' }, secrets({ T: 'abc123\n' }));
    const error = (await newline.apply(outgoing(), signal).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/T contains a control character/);
    expect(error.message).not.toContain('abc123');
  });

  it.each<AuthConfig>([
    { type: 'bearer', tokenEnv: 'S' },
    { type: 'apiKey', keyEnv: 'S', in: 'query' },
    { type: 'basic', usernameEnv: 'U', passwordEnv: 'S' },
  ])('serializes and prints a $type auth without its secrets, after use too', async (config) => {
    const auth = createAuth(config, secrets({ S: 'sup3rs3cret', U: 'user' }));
    await auth.apply(outgoing(), signal);
    expect(auth.secrets().length).toBeGreaterThan(0);
    for (const text of [JSON.stringify(auth), String(auth), inspect(auth), inspect({ auth }, { depth: 5 })]) {
      expect(text).not.toContain('sup3rs3cret');
      expect(text).not.toContain(Buffer.from('user:sup3rs3cret').toString('base64'));
    }
    expect(JSON.parse(JSON.stringify(auth))).toMatchObject(config);
  });

  it('rejects invalid config with a ConfigError naming the field', () => {
    const bad: unknown[] = [
      { type: 'basic', username: 'u', usernameEnv: 'U', passwordEnv: 'P' },
      { type: 'basic', passwordEnv: 'P' },
      { type: 'bearer', tokenEnv: 'not a name' },
      { type: 'bearer', token: 'inline-secret' },
      { type: 'oauth2', tokenUrl: 'http://auth.example.com/token', clientIdEnv: 'I', clientSecretEnv: 'S' },
      { type: 'digest' },
    ];
    for (const config of bad) {
      expect(() => createAuth(config as AuthConfig, secrets({})), JSON.stringify(config)).toThrow(
        ConfigError,
      );
    }
    expect(() => createAuth({ type: 'bearer', tokenEnv: 'a b' }, secrets({}))).toThrow(/tokenEnv/);
  });

  it('accepts every documented shape in authConfigSchema', () => {
    const good: AuthConfig[] = [
      { type: 'bearer', tokenEnv: 'T' },
      { type: 'apiKey', keyEnv: 'K', in: 'query', name: 'key' },
      { type: 'basic', username: 'u', passwordEnv: 'P' },
      {
        type: 'oauth2',
        tokenUrl: 'http://127.0.0.1:8080/token',
        clientIdEnv: 'I',
        clientSecretEnv: 'S',
        scope: 'read write',
        audience: 'api',
        authStyle: 'body',
      },
    ];
    for (const config of good) expect(authConfigSchema.parse(config)).toEqual(config);
  });
});

describe('auth against the simulator', () => {
  let sim: SimulatorServer;
  beforeAll(async () => {
    sim = await startSimulator({
      datasets: { customers: 10 },
      auth: { bearerTokens: ['t0k'], apiKeys: ['k3y'] },
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  async function status(auth: HttpAuth): Promise<number> {
    const req = outgoing(`${sim.url}/v1/customers?limit=2`);
    await auth.apply(req, signal);
    const response = await request(req.url, { headers: req.headers });
    await response.body.dump();
    return response.statusCode;
  }

  const env = secrets({ SIM_TOKEN: 't0k', SIM_KEY: 'k3y', WRONG: 'nope' });

  it('accepts bearer, API key header and API key query signatures, and refuses unsigned or wrong ones', async () => {
    expect(await status(createAuth({ type: 'bearer', tokenEnv: 'SIM_TOKEN' }, env))).toBe(200);
    expect(await status(createAuth({ type: 'apiKey', keyEnv: 'SIM_KEY' }, env))).toBe(200);
    expect(await status(createAuth({ type: 'apiKey', keyEnv: 'SIM_KEY', in: 'query' }, env))).toBe(200);
    expect(await status(createAuth(undefined, env))).toBe(401);
    expect(await status(createAuth({ type: 'bearer', tokenEnv: 'WRONG' }, env))).toBe(401);
  });
});
