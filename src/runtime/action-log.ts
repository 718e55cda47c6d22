import { describeError } from '../core/errors.ts';
import type { ActionLog, ActionOrigin, OperatorActionName } from '../core/store.ts';
import type { Logger } from '../core/types.ts';

/** One operator action to record, as its door describes it (the time and the line are filled in). */
export interface ActionToRecord {
  readonly stream: string | null;
  readonly target?: string | null;
  readonly action: OperatorActionName;
  readonly origin: ActionOrigin;
  /** What the action answered; kept to one line. */
  readonly detail: string;
}

/**
 * Records an action that succeeded in the store's action log (`syncline_actions`). A failure to
 * record never fails the action, which was done: it is a warning (when there is a logger).
 */
export async function recordAction(
  store: ActionLog,
  action: ActionToRecord,
  log?: Pick<Logger, 'warn'>,
  at: Date = new Date(),
): Promise<void> {
  try {
    await store.recordAction({
      at: at.toISOString(),
      stream: action.stream,
      target: action.target ?? null,
      action: action.action,
      origin: action.origin,
      detail: action.detail.replace(/\s*[\r\n]+\s*/g, ' ').trim(),
    });
  } catch (error) {
    log?.warn(
      {
        action: action.action,
        stream: action.stream,
        target: action.target ?? null,
        err: describeError(error),
      },
      'the action was done, but could not be recorded in the action log',
    );
  }
}
