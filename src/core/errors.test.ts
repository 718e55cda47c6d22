import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError, LeaseHeldError, SyncError, TransientError } from './errors.ts';

describe('error classes', () => {
  it('are recognised by instanceof across copies of the module, as a config loaded by tsx makes them', async () => {
    // tsx's scoped import loads its own copy, as loadConfig does for syncline.config.ts.
    const other = (await tsImport(
      pathToFileURL(resolve(import.meta.dirname, 'errors.ts')).href,
      import.meta.url,
    )) as typeof import('./errors.ts');
    expect(other.TransientError).not.toBe(TransientError);
    const transient = new other.TransientError('503', { retryAfterMs: 5, throttled: true });
    expect(transient).toBeInstanceOf(TransientError);
    expect(transient).toBeInstanceOf(SyncError);
    expect(transient).not.toBeInstanceOf(FatalError);
    expect(transient.retryAfterMs).toBe(5);
    const config = new other.ConfigError('bad');
    expect(config).toBeInstanceOf(ConfigError);
    expect(config).toBeInstanceOf(FatalError);
    expect(config).not.toBeInstanceOf(TransientError);
    expect(new other.LeaseHeldError('s', 'h', 'x')).toBeInstanceOf(LeaseHeldError);
  });

  it('keep instanceof exact within one copy, and refuse plain errors', () => {
    expect(new FatalError('x')).not.toBeInstanceOf(TransientError);
    expect(new ConfigError('x')).toBeInstanceOf(FatalError);
    expect(new Error('x')).not.toBeInstanceOf(SyncError);
    expect(Object.assign(new Error('x'), { name: 'TransientError' })).not.toBeInstanceOf(TransientError);
    expect(SyncError[Symbol.hasInstance](null)).toBe(false);
    expect(JSON.stringify(new TransientError('x'))).toBe(
      JSON.stringify({ name: 'TransientError', throttled: false }),
    );
  });
});
