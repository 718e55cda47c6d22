import type { PageCommit, Store } from '../../src/core/store.ts';

/**
 * The store as a process killed mid-run leaves it: the first `pages` source pages land, and the
 * commit that would go past them fails (nothing of it is written), as does every later one, like a
 * kill between two transactions. A commit may hold several pages (the engine merges pages that are
 * ready together), so they are counted by the commit's `pages` counter, or by `counts` when given.
 */
export function crashingAfter(
  store: Store,
  pages: number,
  counts: (commit: PageCommit) => number = (commit) => commit.counters.pages ?? 1,
): Store {
  let left = pages;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'commitPage') {
        return async (commit: PageCommit) => {
          const n = counts(commit);
          if (n > left || (left <= 0 && n === 0)) {
            left = 0;
            throw new Error('killed');
          }
          left -= n;
          return target.commitPage(commit);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
