/**
 * Where human log lines go: stderr, or while live lines are drawn there, whoever draws them (it
 * prints them above its lines). Written straight to stderr then, a line would land inside a live
 * line, and the next redraw would leave both half-overwritten.
 */
export class StderrLines {
  #through: ((text: string) => void) | null = null;

  write(text: string): void {
    if (this.#through) this.#through(text);
    else process.stderr.write(text);
  }

  /** Hands the lines to `through` until the returned function is called. */
  divert(through: (text: string) => void): () => void {
    this.#through = through;
    return () => {
      if (this.#through === through) this.#through = null;
    };
  }
}
