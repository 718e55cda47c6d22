#!/usr/bin/env node
// `npm run build` (also run by `npm ci` / `npm install` as `prepare`): compiles src/ and bench/ to
// JavaScript in dist/ with TypeScript (which also emits the writer threads' plain-JS modules), then
// copies what the compiler does not: the SQL migrations and the dashboard's assets. The CLI and the benchmark run from dist/; a
// stamp file records when it was built, so the CLI can tell a stale build from a fresh one.
// The build goes to a directory of its own and replaces dist/ by renames at the end: a CLI started
// while a build runs (a service, a test beside `npm run bench`) finds the old build or the new one,
// never a half-deleted one.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const target = join(root, 'dist');

/** The newest modification time under `path`, in ms. */
function newest(path) {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

// --if-stale (npm test, the bench): nothing to do when dist/ is at least as new as everything it
// is built from (as right after `npm ci`, whose prepare built it).
if (process.argv.includes('--if-stale')) {
  const stamp = join(target, '.built');
  const inputs = ['src', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build.mjs'];
  if (existsSync(stamp) && Math.max(...inputs.map((p) => newest(join(root, p)))) <= statSync(stamp).mtimeMs) {
    process.stderr.write('dist/ is up to date with src/ and bench/: not rebuilt\n');
    process.exit(0);
  }
}
const dist = join(root, `dist.building-${process.pid}`);
rmSync(dist, { recursive: true, force: true });
// typescript's package exports no bin path, so it is found where npm puts it.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', dist], {
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
// The dashboard's own files, and the front-end libraries it serves vendored from their npm packages
// (htmx, its SSE extension, uPlot: listed in vendor.json), so it needs no CDN and works offline.
const assets = join(root, 'src', 'server', 'dashboard', 'assets');
for (const file of files(assets, ['.js', '.css', '.json'])) {
  const to = join(dist, relative(root, file));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, to);
}
const vendor = JSON.parse(readFileSync(join(assets, 'vendor.json'), 'utf8'));
mkdirSync(join(dist, 'src', 'server', 'dashboard', 'assets', 'vendor'), { recursive: true });
for (const [name, from] of Object.entries(vendor)) {
  copyFileSync(
    join(root, 'node_modules', from),
    join(dist, 'src', 'server', 'dashboard', 'assets', 'vendor', name),
  );
}
writeFileSync(join(dist, '.built'), `${new Date().toISOString()}\n`);
const old = join(root, `dist.old-${process.pid}`);
if (existsSync(target)) renameSync(target, old);
renameSync(dist, target);
rmSync(old, { recursive: true, force: true });
process.stderr.write(`built dist/ (${copied} SQL files copied)\n`);
