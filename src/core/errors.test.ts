import { tsImport } from 'tsx/esm/api';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  LeaseHeldError,
  RecordError,
  StoreUnavailableError,
  SyncError,
  TransientError,
} from './errors.ts';

/** A second, separately evaluated copy of this module, loaded the way a `syncline.config.ts` is. */
async function secondCopy(): Promise<typeof import('./errors.ts')> {
  const url = new URL('./errors.ts', import.meta.url).href;
  const copy = (await tsImport(url, import.meta.url)) as typeof import('./errors.ts');
  expect(copy.TransientError).not.toBe(TransientError);
  return copy;
}

describe('error kinds', () => {
  it('are recognised by instanceof when thrown by another copy of the module', async () => {
    const copy = await secondCopy();
    const transient = new copy.TransientError('blip', { retryAfterMs: 10, throttled: true });
    expect(transient).toBeInstanceOf(TransientError);
    expect(transient).toBeInstanceOf(SyncError);
    expect(transient).not.toBeInstanceOf(FatalError);
    expect(transient).not.toBeInstanceOf(RecordError);
    expect((transient as TransientError).retryAfterMs).toBe(10);
    expect(new copy.RecordError('bad')).toBeInstanceOf(RecordError);
    expect(new copy.RecordError('bad')).not.toBeInstanceOf(TransientError);
    expect(new copy.ConfigError('bad')).toBeInstanceOf(FatalError);
    expect(new copy.ConfigError('bad')).toBeInstanceOf(ConfigError);
    expect(new copy.ConfigError('bad')).not.toBeInstanceOf(StoreUnavailableError);
    expect(new copy.LeaseHeldError('s', 'h', 'x')).toBeInstanceOf(LeaseHeldError);
    // And the other way round: the copy recognises this module's errors.
    expect(new TransientError('x')).toBeInstanceOf(copy.TransientError);
    expect(new FatalError('x')).not.toBeInstanceOf(copy.TransientError);
  });

  it("recognises a user's subclass of another copy's error by its Syncline ancestors", async () => {
    const copy = await secondCopy();
    class RateLimited extends copy.TransientError {}
    const error = new RateLimited('slow down');
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toBeInstanceOf(RateLimited);
    expect(new TransientError('x')).not.toBeInstanceOf(RateLimited);
    expect(error.name).toBe('RateLimited');
  });

  it('does not mistake plain errors and non-errors for Syncline errors', () => {
    expect(new Error('x')).not.toBeInstanceOf(SyncError);
    expect({ message: 'x' }).not.toBeInstanceOf(TransientError);
    expect(null).not.toBeInstanceOf(TransientError);
    expect(Object.assign(new Error('x'), { brand: 'syncline.TransientError' })).not.toBeInstanceOf(
      TransientError,
    );
  });
});
