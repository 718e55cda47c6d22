import fc from 'fast-check';
import { it } from 'vitest';
import { createPaginator } from './create-paginator.ts';
import { FakeListApi, fakeOptions, walkPages } from './paginator-test-kit.ts';
it('counts', () => {
  let ok = 0, refused = 0;
  fc.assert(fc.property(fc.array(fc.integer({min:0,max:4}),{maxLength:60}), fc.integer({min:1,max:7}), (secs, ps) => {
    const api = new FakeListApi(secs.map((s,i)=>({id:`r${String(i).padStart(3,'0')}`, updated_at:new Date(1e12+s*1000).toISOString()})));
    const p = createPaginator({type:'keyset'}, fakeOptions(ps));
    try { walkPages(p, p.first(null), (q)=>api.keyset(q)); ok++; } catch { refused++; }
  }), {numRuns: 1000});
  console.log({ok, refused});
});
