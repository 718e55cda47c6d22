interface Flight<T> {
  readonly promise: Promise<T>;
  readonly controller: AbortController;
  waiters: number;
}

/**
 * Runs one task at a time and lets every caller that arrives meanwhile wait for that same task,
 * e.g. 20 concurrent requests that all need a token send one token request. Each caller keeps
 * its own signal: one that aborts stops waiting without failing the others, and the task itself
 * is aborted only once no caller is left waiting for it.
 */
export class SingleFlight<T> {
  #flight: Flight<T> | undefined;

  /** Whether a task is running. */
  get active(): boolean {
    return this.#flight !== undefined;
  }

  /** Joins the running task, or starts `task` when none runs. */
  run(signal: AbortSignal, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    let flight = this.#flight;
    if (flight === undefined) {
      const controller = new AbortController();
      const started: Flight<T> = {
        promise: task(controller.signal).finally(() => {
          if (this.#flight === started) this.#flight = undefined;
        }),
        controller,
        waiters: 0,
      };
      // Every waiter may have left before it settles; its rejection is theirs, not unhandled.
      started.promise.catch(() => {});
      this.#flight = started;
      flight = started;
    }
    return this.#wait(flight, signal);
  }

  #wait(flight: Flight<T>, signal: AbortSignal): Promise<T> {
    flight.waiters++;
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const leave = (): boolean => {
        if (left) return false;
        left = true;
        flight.waiters--;
        signal.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (!leave()) return;
        if (flight.waiters === 0) {
          // Nobody wants this result any more: stop the task, and let the next caller start afresh.
          if (this.#flight === flight) this.#flight = undefined;
          flight.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          if (leave()) resolve(value);
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }
}
