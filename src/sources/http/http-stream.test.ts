import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import type { HttpStreamConfig } from './http-stream-config.ts';
import { http } from './index.ts';

const base: HttpStreamConfig = {
  name: 'people',
  key: 'id',
  cursor: 'updated_at',
  request: { baseUrl: 'https://api.example.com', path: '/v1/people' },
  pagination: { type: 'keyset', afterIdParam: 'after_id' },
  incremental: { param: 'updated_since' },
};

/** The message http.stream throws for `patch` over a valid stream (cast: the point is what types miss). */
function refusal(patch: Record<string, unknown>): string {
  try {
    http.stream({ ...base, ...patch } as HttpStreamConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('http.stream accepted it');
}

describe('http.stream', () => {
  it('refuses an unknown key at the top of the stream, suggesting the closest valid one', () => {
    expect(refusal({ cursr: 'updated_at' })).toBe(
      'stream "people": cursr: unknown key; did you mean "cursor"?',
    );
    expect(refusal({ histroy: true })).toBe('stream "people": histroy: unknown key; did you mean "history"?');
  });

  it('refuses unknown keys in every nested object, naming its path', () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { request: { baseUrl: 'https://api.example.com', timeotMs: 1 } },
        'request.timeotMs: unknown key; did you mean "timeoutMs"?',
      ],
      [
        { pagination: { type: 'keyset', afterIdParm: 'after_id' } },
        'pagination.afterIdParm: unknown key; did you mean "afterIdParam"?',
      ],
      [{ incremental: { lookbak: '1h' } }, 'incremental.lookbak: unknown key; did you mean "lookback"?'],
      [{ auth: { type: 'bearer', tokenEnvv: 'T' } }, 'auth.tokenEnvv: unknown key; did you mean "tokenEnv"?'],
      [
        { deletes: { feed: { path: '/deleted', sinceParm: 'since' } } },
        'deletes.feed.sinceParm: unknown key; did you mean "sinceParam"?',
      ],
      [{ deletes: { fed: { path: '/deleted' } } }, 'deletes.fed: unknown key; did you mean "feed"?'],
      [
        { fetchById: { path: '/v1/people/{id}', recrd: 'data' } },
        'fetchById.recrd: unknown key; did you mean "record"?',
      ],
      [
        { rateLimit: { requestsPerSecond: 5, brust: 2 } },
        'rateLimit.brust: unknown key; did you mean "burst"?',
      ],
      [{ fields: { renames: { _id: 'id' } } }, 'fields.renames: unknown key; did you mean "rename"?'],
      [{ deletedPth: 'deleted' }, 'deletedPth: unknown key; did you mean "deletedPath"?'],
      [
        { pagination: { type: 'feed', pendingPth: 'pending' }, incremental: undefined },
        'pagination.pendingPth: unknown key; did you mean "pendingPath"?',
      ],
    ];
    for (const [patch, expected] of cases) expect(refusal(patch)).toBe(`stream "people": ${expected}`);
  });

  it('takes a shared rate limit as a boolean, off when left out', () => {
    expect(http.stream({ ...base, rateLimit: { requestsPerSecond: 5, shared: false } }).name).toBe('people');
    expect(refusal({ rateLimit: { requestsPerSecond: 5, shared: 'yes' } })).toMatch(
      /^stream "people": rateLimit\.shared: /,
    );
    expect(refusal({ rateLimit: { requestsPerSecond: 5, shard: true } })).toBe(
      'stream "people": rateLimit.shard: unknown key; did you mean "shared"?',
    );
  });

  it('lists the valid keys when nothing is close', () => {
    expect(refusal({ rateLimit: { requestsPerSecond: 5, ceiling: 2 } })).toBe(
      'stream "people": rateLimit.ceiling: unknown key; valid keys: requestsPerSecond, burst, shared',
    );
  });

  it('accepts every documented option', () => {
    const stream = http.stream({
      ...base,
      version: 'version',
      deleted: 'deleted',
      request: {
        baseUrl: 'https://api.example.com',
        path: '/v1/people',
        query: { a: 1 },
        headers: { 'x-a': 'b' },
        timeoutMs: 1000,
        connectTimeoutMs: 500,
      },
      auth: { type: 'apiKey', keyEnv: 'KEY', in: 'query', name: 'key' },
      records: 'data',
      pageSize: 10,
      pageSizeParam: 'per_page',
      totalPath: 'meta.total',
      incremental: {
        param: 'since',
        format: 'epoch_s',
        start: '2024-01-01',
        lookback: '1h',
        safetyLag: 5000,
      },
      conditional: 'head',
      deletes: { feed: { path: '/v1/people/deleted', deletedAt: 'deleted_at', pageSize: 5 } },
      fetchById: { path: '/v1/people/{id}', record: 'data' },
      rateLimit: { requestsPerSecond: 5, burst: 2, shared: true },
      hash: { exclude: ['fetched_at'] },
      onVersionRegression: 'accept',
      history: true,
      backfill: 'auto',
      reconcile: { maxDeleteShare: 0.5 },
    });
    expect(stream.name).toBe('people');
    expect(typeof stream.fetchByKey).toBe('function');
  });

  it('accepts a changes feed with its record mapping, and refuses feed pagination with incremental', () => {
    const feed = {
      ...base,
      incremental: undefined,
      records: 'results',
      record: 'doc',
      deletedPath: 'deleted',
      fields: { rename: { _id: 'id' }, drop: ['_rev'] },
      pagination: {
        type: 'feed',
        tokenPath: 'last_seq',
        param: 'since',
        pendingPath: 'pending',
        hasMorePath: 'more',
      },
    } as const;
    expect(http.stream(feed).name).toBe('people');
    expect(refusal({ ...feed, incremental: { param: 'updated_since' } })).toBe(
      'stream "people": pagination "feed" is incremental by itself (each run continues from the last token it ' +
        'read); remove `incremental`',
    );
    expect(refusal({ ...feed, fields: { rename: { _id: 'id' }, drop: ['_id'] } })).toBe(
      'stream "people": fields: "_id" is both dropped and renamed; keep one',
    );
    expect(refusal({ ...feed, fields: { rename: { _id: '' } } })).toBe(
      'stream "people": fields.rename._id: must be a non-empty field path',
    );
  });

  it('refuses URLs fetch can never get, naming the field', () => {
    expect(refusal({ request: { baseUrl: 'ftp://files.example.com' } })).toBe(
      'stream "people": request.baseUrl: must be an http:// or https:// URL; fetch cannot get a "ftp:" URL',
    );
    expect(refusal({ request: { baseUrl: 'http://127.0.0.1:6000' } })).toMatch(
      /^stream "people": request\.baseUrl: port 6000 is one fetch refuses to connect to/,
    );
    expect(
      refusal({
        auth: {
          type: 'oauth2',
          tokenUrl: 'https://auth.example.com:1/token',
          clientIdEnv: 'ID',
          clientSecretEnv: 'SECRET',
        },
      }),
    ).toMatch(/^stream "people": auth\.tokenUrl: port 1 is one fetch refuses to connect to/);
  });

  it('refuses a pagination that cannot work when the stream is defined, not at its first run', () => {
    expect(refusal({ incremental: undefined })).toBe(
      'stream "people": keyset pagination needs a since-parameter, a cursor field and an id field (the tie-breaker)',
    );
  });

  it('declares what it reads, how it pages, how it reads incrementally and which secrets it needs', () => {
    const stream = http.stream({
      ...base,
      pageSize: 50,
      incremental: { param: 'since', lookback: '1h', safetyLag: '2s' },
      auth: { type: 'basic', username: 'me', passwordEnv: 'API_PASSWORD' },
    });
    expect(stream.sourceInfo).toEqual({
      kind: 'http',
      reads: 'GET https://api.example.com/v1/people',
      pagination: 'keyset (after_id), 50 a page (limit)',
      incremental: 'since from the newest updated_at, lookback 1h, safety lag 2s',
      secrets: ['API_PASSWORD'],
    });
    expect(
      http.stream({ ...base, pagination: { type: 'page' }, incremental: undefined, pageSizeParam: null })
        .sourceInfo,
    ).toEqual({
      kind: 'http',
      reads: 'GET https://api.example.com/v1/people',
      pagination: 'page (page from 1), 100 a page',
    });
  });
});
