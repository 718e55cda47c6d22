// @ts-check
/**
 * The message loop of a store's writer (the other side of `writer-thread.ts`): applies the programs
 * it is handed one at a time, in the order they arrive, and answers each. A program marked
 * `chained` (handed over while an earlier one was unresolved) is refused when the program before it
 * failed or was refused, so nothing queued behind a failure is applied.
 *
 * The same loop runs on the writer thread (`serveWriter`) and, while that thread is still starting,
 * on the main thread over the store's own connection (`writerLoop`, see `WriterThread`), so both
 * answer alike.
 *
 * Plain JavaScript, like the threads that use it: a worker gets none of the main thread's
 * TypeScript loader.
 *
 * Messages in: `{ type: 'apply', id, chained, program }`, `{ type: 'close' }`.
 * Messages out: `{ type: 'ready' }` (the thread can apply programs now), `{ id, ok: true }` or
 * `{ id, ok: false, failure }`, and `{ type: 'closed' }` once the close hook has run.
 */
import { parentPort } from 'node:worker_threads';

/** Why a program chained behind a failed one was not applied (here and in `writer-thread.ts`). */
export const REFUSED_MESSAGE = 'a commit was not applied because the one handed over before it failed';

/**
 * @template P
 * @typedef {(program: P) => object | null | Promise<object | null>} ApplyProgram
 *   the failure, or null once committed
 */

/**
 * A loop that answers through `post`; returns the function that hands it a message.
 * @template P
 * @param {ApplyProgram<P>} apply
 * @param {() => void | Promise<void>} close releases the connection
 * @param {(message: object) => void} post
 * @returns {(message: any) => void}
 */
export function writerLoop(apply, close, post) {
  /** @type {any[]} */
  const queue = [];
  let busy = false;
  let lastFailed = false;

  async function drain() {
    busy = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      if (message.type === 'close') {
        await close();
        post({ type: 'closed' });
        return;
      }
      const { id, chained, program } = message;
      if (chained && lastFailed) {
        post({ id, ok: false, failure: { refused: true, message: REFUSED_MESSAGE } });
        continue;
      }
      /** @type {object | null} */
      let failure;
      try {
        failure = await apply(program);
      } catch (error) {
        // A bug in the writer's own code: the program failed, the loop goes on.
        failure = { message: error instanceof Error ? error.message : String(error), code: null };
      }
      lastFailed = failure !== null;
      post(failure === null ? { id, ok: true } : { id, ok: false, failure: { ...failure, refused: false } });
    }
    busy = false;
  }

  return (message) => {
    queue.push(message);
    if (!busy) void drain();
  };
}

/**
 * Serves the loop on this worker thread's port and says it is ready. Call it once the thread can
 * apply a program without further waiting (its driver loaded, its connection open or opening).
 * @template P
 * @param {ApplyProgram<P>} apply
 * @param {() => void | Promise<void>} close releases the thread's connection
 */
export function serveWriter(apply, close) {
  const port = parentPort;
  if (!port) throw new Error('a writer thread module runs as a worker thread');
  const push = writerLoop(apply, close, (message) => {
    port.postMessage(message);
    // After `closed` nothing more comes: the port lets the thread end.
    if (/** @type {{ type?: string }} */ (message).type === 'closed') port.close();
  });
  port.on('message', push);
  port.postMessage({ type: 'ready' });
}
