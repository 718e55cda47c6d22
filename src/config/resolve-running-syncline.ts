import { randomUUID } from 'node:crypto';
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Node's CommonJS resolver: not in its public types, but the one hook `require()` has on Node 20. */
type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const commonJs = Module as unknown as { _resolveFilename: ResolveFilename };

/** Our wrapper of `_resolveFilename`, while it is the outermost one, and what it maps `syncline` to. */
let wrapper: ResolveFilename | null = null;
let target = '';

/**
 * From now on, a bare `syncline` require (and, with `imports`, import) anywhere in this process
 * resolves to `url` (the running copy's entry module; running-syncline-hooks.mjs says why). Call it
 * after registering the loader a config is imported through (tsx's): module hooks run last
 * registered first, so these run before that loader's, which would otherwise make the URL a copy of
 * its own. Without `imports` no module hook is registered: a CommonJS config only requires, and the
 * first hook of a process costs the start of Node's loader thread (~40 ms).
 *
 * Both ways a config may import: `import` (an ES module config, e.g. in a `"type": "module"`
 * package) through the resolve hook; `require` (a `.ts` config in a CommonJS package, which tsx
 * compiles to CommonJS, `npm init`'s default) through `Module._resolveFilename`, which Node 20 offers
 * no public hook for (`module.registerHooks` comes with Node 22.15) and which tsx wraps the same way.
 * `require` of an ES module (Node 20.19+) is served from the modules `import` loaded, and loads
 * one itself without the module hooks, so the entry is imported here first: through the loaders that
 * can load it (tsx's global one for src/index.ts), and as the very instance the config then gets.
 */
export async function resolveRunningSyncline(url: string, options: { imports: boolean }): Promise<void> {
  if (options.imports) {
    // A query per registration: each gets its own copy of the hooks module, so the URL of one call
    // does not change another's. (Hooks cannot be removed in Node 20, so a process that loads many
    // configs keeps one small resolve hook per load, like tsx's own.)
    register(`./running-syncline-hooks.mjs?${randomUUID()}`, { parentURL: import.meta.url, data: { url } });
  }
  target = fileURLToPath(url);
  if (commonJs._resolveFilename !== wrapper) {
    const inner = commonJs._resolveFilename;
    wrapper = function (this: unknown, request: string, ...rest: unknown[]): string {
      return request === 'syncline' ? target : inner.call(this, request, ...rest);
    };
    commonJs._resolveFilename = wrapper;
  }
  await import(url);
}
