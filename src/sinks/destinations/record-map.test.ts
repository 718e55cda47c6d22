import { describe, expect, it } from 'vitest';
import { contentHash } from '../../core/canonical-json.ts';
import { ConfigError } from '../../core/errors.ts';
import { compileRecordMap, compileTemplate, idempotencyKey } from './record-map.ts';

const context = { stream: 'customers', key: 'cus_1' };
const record = {
  id: 'cus_1',
  first_name: 'Ada',
  last_name: 'Lovelace',
  email: 'ada@example.com',
  address: { city: 'London', zip: null },
  tags: ['a', 'b'],
};

describe('compileRecordMap', () => {
  it('maps paths, constants and templates into (nested) fields, leaving out paths the record lacks', async () => {
    const map = compileRecordMap(
      {
        email: 'email',
        'location.city': { path: 'address.city' },
        'location.zip': 'address.zip',
        name: { template: '{first_name} {last_name}' },
        source: { const: 'syncline' },
        phone: 'phone',
        tags: 'tags',
      },
      'destination "crm"',
    );
    expect(await map(record, context)).toEqual({
      email: 'ada@example.com',
      location: { city: 'London', zip: null },
      name: 'Ada Lovelace',
      source: 'syncline',
      tags: ['a', 'b'],
    });
  });

  it('gives equal payloads (and hashes) for records that differ only outside the mapping', async () => {
    const map = compileRecordMap({ email: 'email' }, 'destination "crm"');
    const a = await map(record, context);
    const b = await map({ ...record, last_name: 'Byron' }, context);
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(await map({ ...record, email: 'other@example.com' }, context))).not.toBe(
      contentHash(a),
    );
  });

  it('runs a function mapping (TypeScript configs) and refuses one that returns nothing', async () => {
    const map = compileRecordMap(
      (r, c) => ({ ref: `${c.stream}/${c.key}`, upper: String((r as typeof record).email).toUpperCase() }),
      'destination "crm"',
    );
    expect(await map(record, context)).toEqual({ ref: 'customers/cus_1', upper: 'ADA@EXAMPLE.COM' });
    const broken = compileRecordMap((() => undefined) as never, 'destination "crm"');
    await expect(broken(record, context)).rejects.toThrow(
      'destination "crm": map returned nothing for key "cus_1"',
    );
  });

  it('refuses a malformed mapping in one line naming the destination and the field', () => {
    const where = 'destination "crm"';
    const cases: [unknown, string][] = [
      [{}, 'destination "crm": map: must name at least one field'],
      [{ email: '' }, 'destination "crm": map.email: the path must be non-empty text'],
      [
        { email: { path: 'a', const: 1 } },
        'destination "crm": map.email: give exactly one of path, const or template, got path, const',
      ],
      [
        { email: { from: 'a' } },
        'destination "crm": map.email: unknown source "from"; use path, const or template',
      ],
      [{ name: { template: 'Hi {}' } }, 'destination "crm": map.name: "Hi {}" has an empty {} placeholder'],
      [
        { name: { template: 'Hi {first_name' } },
        'destination "crm": map.name: "Hi {first_name" has an unbalanced { or }',
      ],
      [{ 'a..b': 'email' }, 'destination "crm": map: "a..b" is not a field name (empty part)'],
      [{ email: 3 }, 'destination "crm": map.email: must be a path, { path }, { const } or { template }'],
    ];
    for (const [spec, message] of cases) {
      expect(() => compileRecordMap(spec as never, where)).toThrow(ConfigError);
      expect(() => compileRecordMap(spec as never, where)).toThrow(message);
    }
  });
});

describe('compileTemplate', () => {
  it('fills placeholders through an encoder, empty for missing values, JSON for objects', () => {
    const fill = compileTemplate(
      '/contacts/{externalId}/notes?of={key}&x={missing}',
      'destination "crm": update.path',
      encodeURIComponent,
    );
    const values: Record<string, unknown> = { externalId: 'a/b c', key: 'cus 1' };
    expect(fill((name) => values[name])).toBe('/contacts/a%2Fb%20c/notes?of=cus%201&x=');
    expect(compileTemplate('{o}', 'x')((name) => (name === 'o' ? { a: 1 } : undefined))).toBe('{"a":1}');
  });
});

describe('idempotencyKey', () => {
  const base = { destination: 'crm', stream: 'customers', key: 'cus_1', version: '7', hash: 'h1' };
  it('is the same for every retry of a write and differs for another version, key, stream or destination', () => {
    const key = idempotencyKey(base);
    expect(key).toMatch(/^syncline-[0-9a-f]{32}$/);
    expect(idempotencyKey({ ...base })).toBe(key);
    expect(idempotencyKey({ ...base, hash: 'other' })).toBe(key); // the version decides when there is one
    for (const change of [{ version: '8' }, { key: 'cus_2' }, { stream: 'leads' }, { destination: 'erp' }]) {
      expect(idempotencyKey({ ...base, ...change })).not.toBe(key);
    }
  });
  it('uses the hash when the record has no version', () => {
    const a = idempotencyKey({ ...base, version: null, hash: 'h1' });
    expect(idempotencyKey({ ...base, version: null, hash: 'h2' })).not.toBe(a);
    expect(a).not.toBe(idempotencyKey(base));
  });
});
