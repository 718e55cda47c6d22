import { afterEach, describe, expect, it } from 'vitest';
import { resolveColor } from './load-config.ts';

describe('resolveColor', () => {
  const saved = { FORCE_COLOR: process.env['FORCE_COLOR'], NO_COLOR: process.env['NO_COLOR'] };
  afterEach(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  function withEnv(env: { FORCE_COLOR?: string; NO_COLOR?: string }): void {
    delete process.env['FORCE_COLOR'];
    delete process.env['NO_COLOR'];
    Object.assign(process.env, env);
  }

  it('colours a terminal and nothing else when neither variable is set', () => {
    withEnv({});
    expect(resolveColor(true)).toBe(true);
    expect(resolveColor(false)).toBe(false);
  });

  it('turns colours off with any non-empty NO_COLOR, and ignores an empty one', () => {
    withEnv({ NO_COLOR: '1' });
    expect(resolveColor(true)).toBe(false);
    withEnv({ NO_COLOR: 'anything' });
    expect(resolveColor(true)).toBe(false);
    withEnv({ NO_COLOR: '' });
    expect(resolveColor(true)).toBe(true);
  });

  it('colours piped output with FORCE_COLOR, turns them off with FORCE_COLOR=0, and wins over NO_COLOR', () => {
    withEnv({ FORCE_COLOR: '1' });
    expect(resolveColor(false)).toBe(true);
    withEnv({ FORCE_COLOR: '3' });
    expect(resolveColor(false)).toBe(true);
    withEnv({ FORCE_COLOR: '0' });
    expect(resolveColor(true)).toBe(false);
    withEnv({ FORCE_COLOR: 'false' });
    expect(resolveColor(true)).toBe(false);
    withEnv({ FORCE_COLOR: '' });
    expect(resolveColor(false)).toBe(false);
    withEnv({ FORCE_COLOR: '1', NO_COLOR: '1' });
    expect(resolveColor(false)).toBe(true);
  });
});
