import { describe, expect, it } from 'vitest';
import { connectCredentials, redactUrl, scrubSecret, splitCredentials } from './redact-url.ts';

describe('redactUrl', () => {
  it('masks the password and keeps everything else', () => {
    expect(redactUrl('postgres://u:s3cret@db.example:5433/app?sslmode=require')).toBe(
      'postgres://u:***@db.example:5433/app?sslmode=require',
    );
  });

  it('leaves a URL without a password as it was', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe(
      'postgres://postgres@127.0.0.1:5432/test',
    );
  });

  it('masks passwords given as query parameters', () => {
    const out = redactUrl('postgres://db/app?user=u&password=s3cret&sslpassword=k3y');
    expect(out).not.toContain('s3cret');
    expect(out).not.toContain('k3y');
  });

  it('masks the password of a string that does not parse as a URL', () => {
    const out = redactUrl('postgres://u:s3cret@127.0.0.1:notaport/x');
    expect(out).toBe('postgres://u:***@127.0.0.1:notaport/x');
  });
});

describe('scrubSecret', () => {
  it('removes raw and URL-decoded forms of a secret', () => {
    expect(scrubSecret('a p%40ss b p@ss c', 'p%40ss')).toBe('a *** b *** c');
  });
});

describe('splitCredentials and connectCredentials', () => {
  it('take the URL apart for clients that want the credentials on their own', () => {
    expect(splitCredentials('nats://u:p%40ss@host:4222')).toEqual({
      servers: 'nats://host:4222',
      user: 'u',
      pass: 'p@ss',
    });
    expect(connectCredentials('nats://u:pw@host', null)).toEqual({ user: 'u', pass: 'pw' });
    expect(connectCredentials('nats://tok3n@host', null)).toEqual({ token: 'tok3n' });
    expect(connectCredentials('nats://host', null)).toEqual({});
    expect(connectCredentials('nats://u:pw@host', { token: 'configured' })).toEqual({ token: 'configured' });
  });
});
