import { describe, expect, it } from 'vitest';
import { closestName, unknownNameHint } from './closest-name.ts';

describe('closestName', () => {
  const streamKeys = ['name', 'key', 'cursor', 'version', 'deleted', 'schema', 'source', 'history', 'hash'];

  it('suggests the valid name a typo is one or two edits away from', () => {
    expect(closestName('cursr', streamKeys)).toBe('cursor');
    expect(closestName('histroy', streamKeys)).toBe('history'); // a transposition is one edit
    expect(closestName('stor', ['store', 'streams', 'sync'])).toBe('store');
    expect(closestName('verison', streamKeys)).toBe('version');
  });

  it('ignores case, so baseURL finds baseUrl', () => {
    expect(closestName('baseURL', ['baseUrl', 'path', 'query'])).toBe('baseUrl');
  });

  it('suggests nothing when every valid name is far off', () => {
    expect(closestName('colour', streamKeys)).toBeUndefined();
    expect(closestName('x', ['store', 'streams', 'sync'])).toBeUndefined();
  });
});

describe('unknownNameHint', () => {
  it('suggests the closest name, or lists the valid ones', () => {
    expect(unknownNameHint('stor', ['store', 'streams', 'sync'])).toBe('did you mean "store"?');
    expect(unknownNameHint('colour', ['store', 'streams', 'sync'])).toBe('valid keys: store, streams, sync');
  });
});
