// @ts-check
/**
 * Module hooks (`node:module` `register()`, see `loadConfig`) that resolve a bare `syncline`
 * import to the copy of Syncline that is loading the config, wherever the config lives: a config
 * beside no `node_modules` works, and its `defineStream`, `http` and error classes are the very
 * objects the engine uses (one copy loaded, not two).
 *
 * The running copy also wins over a `node_modules/syncline` installed beside the config: the engine
 * interprets what the config builds (stream definitions, `http.stream` sources, thrown errors), so
 * both must be one version; a second copy would also cost its whole load time again. The package
 * exports no subpath, so `syncline/...` is left to the usual resolution.
 *
 * Plain JavaScript: Node runs hooks on its loader thread, which gets no TypeScript loader.
 */

/** The URL `syncline` resolves to (`initialize`'s `data.url`): the running copy's entry module. */
let target = '';

/** @param {{ url: string }} data */
export function initialize(data) {
  target = data.url;
}

/**
 * @param {string} specifier
 * @param {object} context
 * @param {(specifier: string, context: object) => unknown} nextResolve
 */
export function resolve(specifier, context, nextResolve) {
  if (specifier !== 'syncline' || target === '') return nextResolve(specifier, context);
  // Resolved as if the entry imported itself: outside the config's tsx namespace, which would make
  // it a copy of its own, and through the loaders registered before (tsx's global one loads src/).
  return nextResolve(target, { ...context, parentURL: target });
}
