import { EventEmitter } from 'node:events';
import type { Checkpoint, RunCounters, RunStatus } from './types.ts';

/**
 * What the engine tells the world, `noun:verb`, one payload object each. Logs, progress lines and
 * (later) metrics and the dashboard observe runs only through these.
 */
export interface SyncEvents {
  'run:started': { stream: string; runId: string; checkpoint: Checkpoint };
  /** A page was committed. `page` are this page's counters, `totals` the run's so far. */
  'page:committed': {
    stream: string;
    runId: string;
    page: Partial<RunCounters>;
    totals: RunCounters;
    checkpoint: Checkpoint;
  };
  'record:failed': { stream: string; runId: string; key: string | null; reason: string };
  'lease:waiting': { stream: string; holder: string; expiresAt: string };
  'run:finished': {
    stream: string;
    runId: string;
    status: Exclude<RunStatus, 'running'>;
    totals: RunCounters;
    error: string | null;
    durationMs: number;
  };
}

/** A typed event emitter over `SyncEvents`. */
export class SyncEventBus {
  readonly #emitter = new EventEmitter();

  on<E extends keyof SyncEvents>(event: E, listener: (payload: SyncEvents[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  emit<E extends keyof SyncEvents>(event: E, payload: SyncEvents[E]): void {
    this.#emitter.emit(event, payload);
  }
}
