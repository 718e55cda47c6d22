import { describe, expect, it, vi } from 'vitest';
import { type InlineApply, type WriterFailure, WriterThread } from './writer-thread.ts';

const MODULE = new URL('../../test/helpers/held-writer-worker.mjs', import.meta.url);
const RELEASE = 0;
const STARTED = 1;
const CLOSED = 2;
const APPLIED = 3;

interface TestProgram {
  readonly n: number;
  readonly fail?: boolean;
}

/**
 * A writer thread held at start until `release()`, with an inline writer when `inline` is given:
 * `inlined` lists the programs it ran (after each answered), in order.
 */
function heldThread(inline?: (program: TestProgram) => object | null | Promise<object | null>): {
  thread: WriterThread<WriterFailure>;
  flags: Int32Array;
  release: () => void;
  inlined: number[];
} {
  const shared = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const inlined: number[] = [];
  const record = (program: TestProgram): object | null | Promise<object | null> => {
    const outcome = inline!(program);
    if (!(outcome instanceof Promise)) {
      inlined.push(program.n);
      return outcome;
    }
    return outcome.then((answer) => {
      inlined.push(program.n);
      return answer;
    });
  };
  const thread = new WriterThread<WriterFailure>(
    MODULE,
    { flags: shared },
    (message) => ({ message, refused: false }),
    inline ? { inline: record as InlineApply } : {},
  );
  const flags = new Int32Array(shared);
  const release = () => {
    Atomics.store(flags, RELEASE, 1);
    Atomics.notify(flags, RELEASE);
  };
  return { thread, flags, release, inlined };
}

/** A promise that stays pending until `open()`. */
function closedGate(): { gate: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
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
    const { thread, flags, release } = heldThread();
    const first = thread.apply({ n: 1 });
    const second = thread.apply({ n: 2 });
    release();
    await expect(first).resolves.toEqual({ id: 1, ok: true });
    await expect(second).resolves.toEqual({ id: 2, ok: true });
    await thread.close();
    expect(Atomics.load(flags, APPLIED)).toBe(2);
    expect(Atomics.load(flags, CLOSED)).toBe(1);
  });

  it('runs the first programs inline without starting the thread: a short run never pays for it', async () => {
    const { thread, flags, release, inlined } = heldThread(() => null);
    release();
    await expect(thread.apply({ n: 1 })).resolves.toEqual({ id: 1, ok: true });
    await expect(thread.apply({ n: 2 })).resolves.toEqual({ id: 2, ok: true });
    expect(inlined).toEqual([1, 2]);
    expect(thread.started).toBe(false);
    await thread.close();
    expect(Atomics.load(flags, STARTED)).toBe(0);
  });

  it('starts the thread after the first programs, applies inline until it is ready, then hands it the rest', async () => {
    const { thread, flags, release, inlined } = heldThread(() => null);
    for (let n = 1; n <= 3; n++) await thread.apply({ n });
    expect(thread.started).toBe(true);
    expect(thread.ready).toBe(false);
    expect(inlined).toEqual([1, 2, 3]);

    release();
    await vi.waitFor(() => expect(thread.ready).toBe(true));
    await expect(thread.apply({ n: 4 })).resolves.toEqual({ id: 4, ok: true });
    expect(inlined).toEqual([1, 2, 3]);
    expect(Atomics.load(flags, APPLIED)).toBe(1);
    await thread.close();
    expect(Atomics.load(flags, CLOSED)).toBe(1);
  });

  it('refuses an inline program handed over behind a failed one, and applies the next', async () => {
    const { thread, inlined } = heldThread((p) => (p.fail ? { message: 'bad row' } : null));
    const failed = thread.apply({ n: 1, fail: true });
    const behind = thread.apply({ n: 2 });
    await expect(failed).resolves.toMatchObject({
      ok: false,
      failure: { message: 'bad row', refused: false },
    });
    await expect(behind).resolves.toMatchObject({ ok: false, failure: { refused: true } });
    await expect(thread.apply({ n: 3 })).resolves.toEqual({ id: 3, ok: true });
    expect(inlined).toEqual([1, 3]);
    await thread.close();
  });

  it('holds a program handed over once the thread is ready until the inline ones before it are answered', async () => {
    const { gate, open } = closedGate();
    const { thread, flags, release, inlined } = heldThread(async () => {
      await gate;
      return null;
    });
    const first = [1, 2, 3].map((n) => thread.apply({ n }));
    release();
    await vi.waitFor(() => expect(thread.ready).toBe(true));
    // 1-3 are still running inline: 4 goes to the thread, but not before they are answered.
    const fourth = thread.apply({ n: 4 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Atomics.load(flags, APPLIED)).toBe(0);
    open();
    for (const outcome of first) await expect(outcome).resolves.toMatchObject({ ok: true });
    await expect(fourth).resolves.toEqual({ id: 4, ok: true });
    expect(inlined).toEqual([1, 2, 3]);
    expect(Atomics.load(flags, APPLIED)).toBe(1);
    await thread.close();
  });

  it('moves a steady pipeline (always one program in flight) to the thread once it is ready', async () => {
    const { thread, flags, release, inlined } = heldThread(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return null;
    });
    release();
    let previous = thread.apply({ n: 1 });
    let total = 1;
    // Until a few went to the thread: however long it takes to start on a loaded machine (at
    // most 2,000 programs, ~10 s).
    while (total < 2000 && Atomics.load(flags, APPLIED) < 3) {
      // As the engine does: the next is handed over before the last is answered.
      const next = thread.apply({ n: ++total });
      await expect(previous).resolves.toMatchObject({ ok: true });
      previous = next;
    }
    await expect(previous).resolves.toMatchObject({ ok: true });
    expect(thread.ready).toBe(true);
    expect(inlined.length).toBeLessThan(total);
    expect(inlined).toEqual(inlined.map((_, i) => i + 1));
    expect(Atomics.load(flags, APPLIED)).toBe(total - inlined.length);
    await thread.close();
  });

  it('refuses a program held for the thread behind an inline one that failed', async () => {
    const { gate, open } = closedGate();
    const { thread, flags, release } = heldThread(async (p) => {
      if (p.n < 3) return null;
      await gate;
      return { message: 'bad row' };
    });
    for (let n = 1; n <= 2; n++) await thread.apply({ n });
    const failed = thread.apply({ n: 3 });
    release();
    await vi.waitFor(() => expect(thread.ready).toBe(true));
    const behind = thread.apply({ n: 4 });
    open();
    await expect(failed).resolves.toMatchObject({
      ok: false,
      failure: { message: 'bad row', refused: false },
    });
    await expect(behind).resolves.toMatchObject({ ok: false, failure: { refused: true } });
    // Handed over after the failure was answered: not chained, the thread applies it.
    await expect(thread.apply({ n: 5 })).resolves.toMatchObject({ ok: true });
    expect(Atomics.load(flags, APPLIED)).toBe(1);
    await thread.close();
  });
});
