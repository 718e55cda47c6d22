// @ts-check
/**
 * The message loop of a store's writer thread (the other side of `writer-thread.ts`): applies the
 * programs it is handed in the order they arrive, and answers each. A program marked `chained`
 * (handed over while an earlier one was unresolved) is refused when the program before it failed
 * or was refused, so nothing queued behind a failure is applied.
 *
 * A thread may apply the programs waiting for it as a group (`applyGroup`): several programs, each
 * all or nothing, made durable by one commit. A group is what the thread found queued when it took
 * its first program, so it never waits for a program to make a group bigger.
 *
 * Plain JavaScript, like the threads that use it: a worker gets none of the main thread's
 * TypeScript loader.
 *
 * Messages in: `{ type: 'apply', id, chained, program }`, `{ type: 'close' }`.
 * Messages out: `{ id, ok: true }` or `{ id, ok: false, failure }`.
 */
import { parentPort, receiveMessageOnPort } from 'node:worker_threads';

/**
 * How a thread applies programs. `apply`: one at a time (the failure, or null once committed).
 * `applyGroup`: the programs in order, each all or nothing, committed together; answers the index
 * of the first that failed and its failure (those before it are committed, those after it are not
 * applied), or null when all committed. `weight` is a program's size; a group stops growing once
 * its weights reach `maxWeight`.
 * @template P
 * @typedef {{ apply: (program: P) => object | null | Promise<object | null> }
 *   | { applyGroup: (programs: P[]) => { index: number, failure: object } | null,
 *       weight: (program: P) => number, maxWeight: number }} Applier
 */

/**
 * @template P
 * @param {Applier<P>} applier
 * @param {() => void | Promise<void>} close releases the thread's connection
 */
export function serveWriter(applier, close) {
  const port = parentPort;
  if (!port) throw new Error('a writer thread module runs as a worker thread');
  /** @type {any[]} */
  const queue = [];
  let busy = false;
  let lastFailed = false;

  /** @param {number} id @param {object | null} failure @param {boolean} refused */
  function answer(id, failure, refused = false) {
    port?.postMessage(
      failure === null ? { id, ok: true } : { id, ok: false, failure: { ...failure, refused } },
    );
  }

  function refuse(/** @type {number} */ id) {
    const message = 'a commit was not applied because the one handed over before it failed';
    answer(id, { message }, true);
  }

  /** Messages already sent to the thread but not dispatched yet, taken without yielding. */
  function pull() {
    const received = port ? receiveMessageOnPort(/** @type {any} */ (port)) : undefined;
    if (received) queue.push(received.message);
    return received !== undefined;
  }

  /**
   * The first message and the applies queued behind it, up to the weight limit (a `close` ends it).
   * @param {any} first
   * @param {{ weight: (program: P) => number, maxWeight: number }} limits
   */
  function takeGroup(first, limits) {
    const group = [first];
    let weight = limits.weight(first.program);
    while (weight < limits.maxWeight) {
      if (queue.length === 0 && !pull()) break;
      const next = queue[0];
      if (next.type !== 'apply') break;
      queue.shift();
      group.push(next);
      weight += limits.weight(next.program);
    }
    return group;
  }

  /** @param {any[]} group */
  function applyGroup(group) {
    if (!('applyGroup' in applier)) throw new Error('unreachable');
    // A chained program behind a failure is refused; those before it go on without it.
    const runnable = [];
    for (const message of group) {
      if (message.chained && lastFailed) {
        refuse(message.id);
        continue;
      }
      runnable.push(message);
    }
    if (runnable.length === 0) return;
    /** @type {{ index: number, failure: object } | null} */
    let result;
    try {
      result = applier.applyGroup(runnable.map((m) => m.program));
    } catch (error) {
      // A bug in the thread's own code: the group failed at its first program, the loop goes on.
      result = {
        index: 0,
        failure: { message: error instanceof Error ? error.message : String(error), code: null },
      };
    }
    const failedAt = result === null ? runnable.length : result.index;
    runnable.forEach((message, i) => {
      if (i < failedAt) answer(message.id, null);
      else if (i === failedAt && result) answer(message.id, result.failure);
      // Handed over while the failed one was unresolved: chained, so refused.
      else refuse(message.id);
    });
    lastFailed = result !== null;
  }

  async function drain() {
    busy = true;
    for (let message = queue.shift(); message !== undefined; message = queue.shift()) {
      if (message.type === 'close') {
        await close();
        port?.close();
        return;
      }
      if ('applyGroup' in applier) {
        applyGroup(takeGroup(message, applier));
        continue;
      }
      const { id, chained, program } = message;
      if (chained && lastFailed) {
        refuse(id);
        continue;
      }
      /** @type {object | null} */
      let failure;
      try {
        failure = await applier.apply(program);
      } catch (error) {
        // A bug in the thread's own code: the program failed, the loop goes on.
        failure = { message: error instanceof Error ? error.message : String(error), code: null };
      }
      lastFailed = failure !== null;
      answer(id, failure);
    }
    busy = false;
  }

  port.on('message', (message) => {
    queue.push(message);
    if (!busy) void drain();
  });
}
