import type { PageCommit, Store } from '../../src/core/store.ts';

/**
 * The store as a process killed mid-run leaves it: the first `pages` commits land, every later one
 * fails (nothing of it is written), like a kill between two transactions. With `counts`, only
 * commits it accepts are counted (the others land).
 */
export function crashingAfter(
  store: Store,
  pages: number,
  counts: (commit: PageCommit) => boolean = () => true,
): Store {
  let left = pages;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'commitPage') {
        return async (commit: PageCommit) => {
          if (left <= 0) throw new Error('killed');
          if (counts(commit)) left--;
          return target.commitPage(commit);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
