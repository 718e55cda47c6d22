#!/usr/bin/env -S node --max-semi-space-size=8
// The option on the line above is SYNC_NODE_OPTIONS (src/runtime/heap-tuning.ts), which says why.
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs) when it is at least
// as new as every source file; otherwise the TypeScript sources directly through tsx, so a change
// needs no build before a run. The compiled CLI starts faster and takes ~40 MB less memory. An
// installed package has no src/ (package.json "files"): it runs dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const stamp = join(root, 'dist', '.built');
const sources = join(root, 'src');

/** The newest modification time under `dir`, in ms. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

let main;
if (!existsSync(sources) || (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(sources))) {
  ({ main } = await import('../dist/src/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
