import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The dashboard's own files, beside this module (the build copies them to dist/). */
const OWN = ['dashboard.css', 'dashboard.js'] as const;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** A hash of the content: its URL carries it, so the browser may keep it for good. */
  readonly version: string;
}

/**
 * The dashboard's static files, read once into memory: its own script and styles, and the front-end
 * libraries (htmx, its SSE extension, uPlot) vendored from their npm packages by the build into
 * `assets/vendor/` (run from the sources, they are read from node_modules). Nothing comes from a
 * CDN: the dashboard works offline.
 */
export class DashboardAssets {
  readonly #assets = new Map<string, Asset>();

  constructor(dir = join(import.meta.dirname, 'assets')) {
    for (const name of OWN) this.#add(name, readFileSync(join(dir, name)));
    const vendor = JSON.parse(readFileSync(join(dir, 'vendor.json'), 'utf8')) as Record<string, string>;
    const require = createRequire(import.meta.url);
    for (const [name, from] of Object.entries(vendor)) {
      const built = join(dir, 'vendor', name);
      this.#add(name, readFileSync(existsSync(built) ? built : require.resolve(from)));
    }
  }

  get(name: string): Asset | undefined {
    return this.#assets.get(name);
  }

  /** The URL of an asset, with its version. */
  url(name: string): string {
    const asset = this.#assets.get(name);
    if (!asset) throw new Error(`no dashboard asset "${name}"`);
    return `/ui/assets/${name}?v=${asset.version}`;
  }

  #add(name: string, body: Buffer): void {
    const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
    const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
    this.#assets.set(name, { body, type, version });
  }
}
