import { inspect } from 'node:util';
import type { HttpAuth } from '../http-types.ts';

/** Signs nothing: for open APIs. A 401 is fatal, since there is nothing to refresh. */
export class NoAuth implements HttpAuth {
  async apply(): Promise<void> {}

  async refresh(): Promise<boolean> {
    return false;
  }

  secrets(): readonly string[] {
    return [];
  }

  toJSON(): { type: 'none' } {
    return { type: 'none' };
  }

  toString(): string {
    return 'NoAuth';
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
