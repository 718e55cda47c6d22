import { EXIT } from './exit-codes.ts';

/**
 * How a long-running command (`syncline run`, `syncline sinks run`) stops: the first SIGINT or
 * SIGTERM, listened for from the call on (a stop during start-up counts), resolves `first` and the
 * command stops cleanly; a second one exits at once (130 / 143), after `onSecond`'s function. One
 * listener stays from the start to `dispose()`: a second signal never finds Node's default action.
 */
export interface StopSignal {
  readonly first: Promise<NodeJS.Signals>;
  onSecond(beforeExit: () => void): void;
  dispose(): void;
}

export function stopSignal(): StopSignal {
  let seen = 0;
  let beforeExit: (() => void) | null = null;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => {};
  const first = new Promise<NodeJS.Signals>((resolve) => {
    resolveFirst = resolve;
  });
  const on = (signal: NodeJS.Signals) => {
    seen += 1;
    if (seen === 1) return resolveFirst(signal);
    beforeExit?.();
    process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    first,
    onSecond(fn) {
      beforeExit = fn;
    },
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}
