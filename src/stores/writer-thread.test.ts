import { describe, expect, it } from 'vitest';
import { type WriterFailure, WriterThread } from './writer-thread.ts';

const MODULE = new URL('../../test/helpers/held-writer-worker.mjs', import.meta.url);
const RELEASE = 0;
const STARTED = 1;
const CLOSED = 2;
const APPLIED = 3;

function heldThread(): { thread: WriterThread<WriterFailure>; flags: Int32Array } {
  const shared = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const thread = new WriterThread<WriterFailure>(MODULE, { flags: shared }, (message) => ({
    message,
    refused: false,
  }));
  return { thread, flags: new Int32Array(shared) };
}

describe('WriterThread', () => {
  it('stops a thread that was never handed a program without waiting for it to start', async () => {
    const { thread, flags } = heldThread();
    // The thread is held at start for up to 10 s: a close that waited for it would time out.
    await thread.close();
    expect(Atomics.load(flags, STARTED)).toBe(0);
    expect(Atomics.load(flags, APPLIED)).toBe(0);
  });

  it('lets a thread that was handed programs apply them and close its connection', async () => {
    const { thread, flags } = heldThread();
    const first = thread.apply({ n: 1 });
    const second = thread.apply({ n: 2 });
    Atomics.store(flags, RELEASE, 1);
    Atomics.notify(flags, RELEASE);
    await expect(first).resolves.toEqual({ id: 1, ok: true });
    await expect(second).resolves.toEqual({ id: 2, ok: true });
    await thread.close();
    expect(Atomics.load(flags, APPLIED)).toBe(2);
    expect(Atomics.load(flags, CLOSED)).toBe(1);
  });
});
