import { relative } from 'node:path';
import { z } from 'zod';
import { configSchema, describeConfigIssue } from '../config/config-schema.ts';
import type { SynclineConfig } from '../config/define-config.ts';
import {
  findConfigFile,
  isDeclarativeConfig,
  type LoadOptions,
  loadConfig,
  type ResolvedConfig,
  resolveConfig,
} from '../config/load-config.ts';
import { readDeclarativeFile } from '../config/read-declarative-file.ts';
import { ConfigError } from '../core/errors.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import { firstIssue } from '../core/strict-object.ts';
import { DEFAULT_SOURCE_KIND, SOURCE_KINDS } from './source-kinds.ts';

/** A JSON/YAML config's top level: as `defineConfig`'s, each stream checked by its kind (below). */
const declarativeSchema = configSchema.extend({
  streams: z.array(z.unknown()).min(1, 'must define at least one stream'),
});

/**
 * Loads the project's config: `syncline.config.ts` (code) or `syncline.config.yaml` / `.json`
 * (declarative streams of the registered source kinds, `SOURCE_KINDS`, for users who don't write
 * TypeScript; read by config/). Both resolve to one shape.
 */
export async function loadProjectConfig(options: LoadOptions = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const path = findConfigFile(cwd, options.file);
  if (!isDeclarativeConfig(path)) return loadConfig({ ...options, file: path });
  const shown = relative(cwd, path) || path;
  const data = readDeclarativeFile(path, shown, options.vars);
  const parsed = declarativeSchema.safeParse(data);
  if (!parsed.success)
    throw new ConfigError(describeConfigIssue(shown, data, firstIssue(parsed.error.issues)));
  const { streams, ...rest } = parsed.data;
  const config: SynclineConfig = {
    ...rest,
    streams: streams.map((stream, i) => declarativeStream(stream, i, shown, data)),
  };
  return resolveConfig(config, shown, options.store);
}

/** Stream `i` of a declarative config, checked and built by the source kind its `type:` names. */
function declarativeStream(value: unknown, i: number, shown: string, data: unknown): AnyStreamDefinition {
  const issue = (path: PropertyKey[], message: string) =>
    new ConfigError(describeConfigIssue(shown, data, { path: ['streams', i, ...path], message }));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw issue([], 'must be a stream (a mapping with name, key and its source settings)');
  }
  const { type = DEFAULT_SOURCE_KIND, ...stream } = value as { type?: unknown };
  if (typeof type !== 'string') throw issue(['type'], 'must be the name of a source kind');
  let kind: ReturnType<typeof SOURCE_KINDS.get>;
  try {
    kind = SOURCE_KINDS.get(type);
  } catch (error) {
    throw error instanceof ConfigError ? issue(['type'], error.message) : error;
  }
  const parsed = kind.schema.safeParse(stream);
  if (!parsed.success) {
    const first = firstIssue(parsed.error.issues);
    throw issue([...first.path], first.message);
  }
  try {
    return kind.create(parsed.data);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${shown}: ${error.message}`);
    throw error;
  }
}
