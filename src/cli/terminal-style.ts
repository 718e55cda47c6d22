/**
 * ANSI SGR codes (no dependency): the code that turns a style on, and the one that turns only
 * that style off again (so styles nest without resetting each other).
 */
const SGR = {
  green: [32, 39],
  red: [31, 39],
  yellow: [33, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;

/**
 * The colours of one output stream (stdout or stderr), or none: whether it has any is decided once
 * per stream by `resolveColor` (config/), so piped output stays plain. JSON never goes through it.
 */
export class TerminalStyle {
  /** Whether this stream is coloured. */
  readonly enabled: boolean;

  constructor(enabled: boolean) {
    this.enabled = enabled;
  }

  /** Went well: a run `ok`. */
  ok(text: string): string {
    return this.#paint('green', text);
  }

  /** Went wrong: a run `failed`, dead letters, errors. */
  bad(text: string): string {
    return this.#paint('red', text);
  }

  /** Needs a look: paused, partial, interrupted runs; retries and waits; warnings. */
  warn(text: string): string {
    return this.#paint('yellow', text);
  }

  /** Secondary text: separators, times, field lists, placeholders. */
  muted(text: string): string {
    return this.#paint('dim', text);
  }

  strong(text: string): string {
    return this.#paint('bold', text);
  }

  /**
   * A run status (or a stream outcome's: `busy`) in its colour; `shown` is the word printed when
   * it differs (status prints `paused_backfill` as `PAUSED`).
   */
  status(status: string | null, shown: string = status ?? '-'): string {
    switch (status) {
      case 'ok':
        return this.ok(shown);
      case 'failed':
      case 'busy':
        return this.bad(shown);
      case 'paused_backfill':
      case 'partial':
      case 'interrupted':
        return this.warn(shown);
      case null:
        return this.muted(shown);
      default:
        return shown;
    }
  }

  #paint(style: keyof typeof SGR, text: string): string {
    if (!this.enabled || text === '') return text;
    const [on, off] = SGR[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }
}
