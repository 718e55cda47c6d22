import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('normalises -0, non-finite numbers, dates, bigints and undefined like JSON does', () => {
    expect(
      canonicalJson({ n: -0, inf: Number.POSITIVE_INFINITY, u: undefined, d: new Date(0), b: 10n }),
    ).toBe('{"b":"10","d":"1970-01-01T00:00:00.000Z","inf":null,"n":0}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
  });

  it('gives the same text, and hash, whatever the key order (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(contentHash(reversed)).toBe(contentHash(obj));
      }),
    );
  });

  it('round-trips through JSON.parse to an equal value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('writes what the plain definition writes, for shapes met again (property)', () => {
    // The plain definition: every object's keys sorted, each value as JSON.stringify writes it
    // (a sorted copy would not do: JavaScript objects list integer-like keys first).
    const plain = (value: unknown): string | undefined => {
      if (Array.isArray(value)) return `[${value.map((v) => plain(v) ?? 'null').join(',')}]`;
      if (value === null || typeof value !== 'object') return JSON.stringify(value);
      const obj = value as Record<string, unknown>;
      const members = Object.keys(obj)
        .sort()
        .flatMap((key) => {
          const text = plain(obj[key]);
          return text === undefined ? [] : [`${JSON.stringify(key)}:${text}`];
        });
      return `{${members.join(',')}}`;
    };
    const member = fc.oneof(
      fc.jsonValue(),
      fc.constant(undefined),
      fc.constant(() => 1),
    );
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(fc.constantFrom('b', 'a', '10', '9', 'é', 'z'), member)),
        (objects) => {
          // Each object twice: the second meets a remembered shape, with different members.
          for (const obj of [...objects, ...objects.map((o) => ({ ...o }))]) {
            expect(canonicalJson(obj)).toBe(plain(obj));
          }
        },
      ),
    );
  });

  it('writes a remembered shape right when a member JSON leaves out appears', () => {
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
    expect(canonicalJson({ b: 1, a: undefined, c: 3 })).toBe('{"b":1,"c":3}');
    expect(canonicalJson({ b: undefined, a: 2, c: undefined })).toBe('{"a":2}');
  });

  it('hashes to 32 hex characters and changes with any content change', () => {
    const h = contentHash({ id: 1, name: 'a' });
    expect(h).toMatch(/^[0-9a-f]{32}$/);
    expect(contentHash({ id: 1, name: 'b' })).not.toBe(h);
  });
});
