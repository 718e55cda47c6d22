import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './scrub-secrets.ts';

describe('scrubSecrets', () => {
  it('masks a secret as is, URL-encoded, form-encoded and base64-encoded', () => {
    const secret = 'p@ss word/+';
    const text = [
      `raw ${secret}`,
      `url ?key=${encodeURIComponent(secret)}`,
      `form client_secret=${new URLSearchParams({ s: secret }).toString().slice(2)}`,
      `b64 ${Buffer.from(secret).toString('base64')}`,
    ].join('\n');
    expect(scrubSecrets(text, [secret])).toBe('raw ***\nurl ?key=***\nform client_secret=***\nb64 ***');
  });

  it('masks a longer secret whole even when a shorter one is part of it', () => {
    expect(scrubSecrets('token abcdef and abc', ['abc', 'abcdef'])).toBe('token *** and ***');
  });

  it('ignores empty secrets and leaves clean text alone', () => {
    expect(scrubSecrets('nothing to hide', ['', 'absent'])).toBe('nothing to hide');
  });
});
