import { ConfigError } from '../core/errors.ts';

/** What every registered kind has: the name configs and locations use for it. */
export interface Kind {
  readonly kind: string;
}

/**
 * The kinds of one part (sources, stores...) the composition root can build, by name. A new kind is
 * a folder of its own plus one `register` call in the part's registry file (`source-kinds.ts`,
 * `store-kinds.ts`); nothing else switches on kind names.
 */
export class KindRegistry<K extends Kind> {
  readonly #what: string;
  readonly #kinds = new Map<string, K>();

  /** `what` names the part in messages: `source kind`, `store kind`. */
  constructor(what: string) {
    this.#what = what;
  }

  register(kind: K): this {
    if (this.#kinds.has(kind.kind)) throw new Error(`${this.#what} "${kind.kind}" is registered twice`);
    this.#kinds.set(kind.kind, kind);
    return this;
  }

  /** The kind named `name`; a `ConfigError` naming the registered ones when there is none. */
  get(name: string): K {
    const kind = this.#kinds.get(name);
    if (!kind) {
      throw new ConfigError(`unknown ${this.#what} "${name}"; known: ${this.names().join(', ')}`);
    }
    return kind;
  }

  /** The first kind `accepts` says yes to, in registration order. */
  find(accepts: (kind: K) => boolean): K | undefined {
    for (const kind of this.#kinds.values()) if (accepts(kind)) return kind;
    return undefined;
  }

  names(): string[] {
    return [...this.#kinds.keys()];
  }
}
