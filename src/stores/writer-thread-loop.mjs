// @ts-check
/**
 * The message loop of a store's writer thread (the other side of `writer-thread.ts`): applies the
 * programs it is handed one at a time, in the order they arrive, and answers each. A program marked
 * `chained` (handed over while an earlier one was unresolved) is refused when the program before it
 * failed or was refused, so nothing queued behind a failure is applied.
 *
 * Plain JavaScript, like the threads that use it: a worker gets none of the main thread's
 * TypeScript loader.
 *
 * Messages in: `{ type: 'apply', id, chained, program }`, `{ type: 'close' }`.
 * Messages out: `{ id, ok: true }` or `{ id, ok: false, failure }`.
 */
import { parentPort } from 'node:worker_threads';

/**
 * @template P
 * @param {(program: P) => object | null | Promise<object | null>} apply the failure, or null once committed
 * @param {() => void | Promise<void>} close releases the thread's connection
 */
export function serveWriter(apply, close) {
  const port = parentPort;
  if (!port) throw new Error('a writer thread module runs as a worker thread');
  /** @type {any[]} */
  const queue = [];
  let busy = false;
  let lastFailed = false;

  async function drain() {
    busy = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      if (message.type === 'close') {
        await close();
        port?.close();
        return;
      }
      const { id, chained, program } = message;
      if (chained && lastFailed) {
        const message = 'a commit was not applied because the one handed over before it failed';
        port?.postMessage({ id, ok: false, failure: { refused: true, message } });
        continue;
      }
      /** @type {object | null} */
      let failure;
      try {
        failure = await apply(program);
      } catch (error) {
        // A bug in the thread's own code: the program failed, the loop goes on.
        failure = { message: error instanceof Error ? error.message : String(error), code: null };
      }
      lastFailed = failure !== null;
      port?.postMessage(
        failure === null ? { id, ok: true } : { id, ok: false, failure: { ...failure, refused: false } },
      );
    }
    busy = false;
  }

  port.on('message', (message) => {
    queue.push(message);
    if (!busy) void drain();
  });
}
