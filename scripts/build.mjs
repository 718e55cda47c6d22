#!/usr/bin/env node
// `npm run build` (also run by `npm ci` / `npm install` as `prepare`): compiles src/ and bench/ to
// JavaScript in dist/ with TypeScript (which also emits the writer threads' plain-JS modules), then
// copies what the compiler does not: the SQL migrations. The CLI and the benchmark run from dist/; a
// stamp file records when it was built, so the CLI can tell a stale build from a fresh one.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
// typescript's package exports no bin path, so it is found where npm puts it.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});

/** Files under `dir` whose names end with one of `endings`. */
function* files(dir, endings) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path, endings);
    else if (endings.some((e) => entry.name.endsWith(e))) yield path;
  }
}
let copied = 0;
for (const file of files(join(root, 'src'), ['.sql'])) {
  const to = join(dist, relative(root, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
  copied++;
}
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
process.stderr.write(`built dist/ (${copied} SQL files copied)\n`);
