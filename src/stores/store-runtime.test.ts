import { describe, expect, it } from 'vitest';
import { FatalError, StoreUnavailableError, SyncError, TransientError } from '../core/errors.ts';
import { type StoreDriver, StoreRuntime } from './store-runtime.ts';

/** A driver whose connections are numbers, counting connects and disconnects. */
function fakeDriver(connect: () => Promise<number> = async () => 1) {
  const calls = { connects: 0, disconnects: [] as number[] };
  const driver: StoreDriver<number> = {
    name: 'the test store',
    connect: () => {
      calls.connects++;
      return connect();
    },
    disconnect: async (connection) => {
      calls.disconnects.push(connection);
    },
    toSyncError: (error, what, stream) =>
      error instanceof SyncError
        ? error
        : new TransientError(`${what} of ${stream ?? 'no stream'}: ${String(error)}`, { cause: error }),
  };
  return { driver, calls };
}

describe('StoreRuntime', () => {
  it('refuses work before open and after close with a FatalError naming the store', async () => {
    const { driver } = fakeDriver();
    const runtime = new StoreRuntime(driver);
    expect(() => runtime.connection).toThrow(FatalError);
    expect(() => runtime.guard('read', 's', (c) => c)).toThrow(
      'the test store is not open: call open() first (or it was closed)',
    );
    await runtime.open();
    expect(runtime.guard('read', 's', (c) => c + 1)).toBe(2);
    await runtime.close();
    expect(() => runtime.connection).toThrow(/is not open/);
  });

  it('opens once: overlapping opens share one connect, a later open does nothing', async () => {
    let resolve!: (connection: number) => void;
    const { driver, calls } = fakeDriver(() => new Promise((r) => (resolve = r)));
    const runtime = new StoreRuntime(driver);
    const first = runtime.open();
    const second = runtime.open({ mode: 'read' });
    resolve(7);
    await Promise.all([first, second]);
    await runtime.open();
    expect(calls.connects).toBe(1);
    expect(runtime.connection).toBe(7);
  });

  it('stays closed after a failed open, and the next open tries again', async () => {
    let attempt = 0;
    const { driver, calls } = fakeDriver(async () => {
      if (++attempt === 1) throw new StoreUnavailableError('no store there');
      return 3;
    });
    const runtime = new StoreRuntime(driver);
    await expect(runtime.open()).rejects.toThrow('no store there');
    expect(runtime.isOpen).toBe(false);
    await runtime.open();
    expect(runtime.connection).toBe(3);
    expect(calls.connects).toBe(2);
  });

  it('closes idempotently, and closes what an open in flight makes', async () => {
    let resolve!: (connection: number) => void;
    const { driver, calls } = fakeDriver(() => new Promise((r) => (resolve = r)));
    const runtime = new StoreRuntime(driver);
    const opening = runtime.open();
    const closing = runtime.close();
    resolve(5);
    await opening;
    await closing;
    await runtime.close();
    expect(calls.disconnects).toEqual([5]);
    expect(runtime.isOpen).toBe(false);
  });

  it("turns what a step throws into the driver's typed error, and lets SyncErrors through", async () => {
    const { driver } = fakeDriver();
    const runtime = new StoreRuntime(driver);
    await runtime.open();
    expect(() =>
      runtime.guard('look up keys', 'customers', () => {
        throw new Error('disk I/O error');
      }),
    ).toThrow(new TransientError('look up keys of customers: Error: disk I/O error'));
    const fatal = new FatalError('already typed');
    expect(() =>
      runtime.guard('look up keys', 'customers', () => {
        throw fatal;
      }),
    ).toThrow(fatal);
  });
});
