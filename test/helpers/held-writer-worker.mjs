// @ts-check
/**
 * A writer thread for `writer-thread.test.ts`: it stands for a thread still loading its driver by
 * blocking at start until the test releases it, then serves programs (each committed at once).
 * Flags (an Int32Array over `workerData.flags`): [0] release, [1] started, [2] closed, [3] applied.
 */
import { workerData } from 'node:worker_threads';
import { serveWriter } from '../../src/stores/writer-thread-loop.mjs';

const flags = new Int32Array(workerData.flags);
Atomics.wait(flags, 0, 0, 10_000);
Atomics.store(flags, 1, 1);
serveWriter(
  () => {
    Atomics.add(flags, 3, 1);
    return null;
  },
  () => {
    Atomics.store(flags, 2, 1);
  },
);
