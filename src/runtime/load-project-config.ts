import { relative } from 'node:path';
import { z } from 'zod';
import { configSchema, describeConfigIssue, streamBehaviourFields } from '../config/config-schema.ts';
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
import { firstIssue } from '../core/strict-object.ts';
import { httpStream } from '../sources/http/http-stream.ts';
import type { HttpStreamConfig } from '../sources/http/http-stream-config.ts';
import { httpStreamSchema } from '../sources/http/http-stream-schema.ts';

/** A JSON/YAML config: the same top level as `defineConfig`, streams given as HTTP stream objects. */
const declarativeSchema = configSchema.extend({
  streams: z
    .array(httpStreamSchema.extend({ type: z.literal('http').optional(), ...streamBehaviourFields }))
    .min(1, 'must define at least one stream'),
});

/**
 * Loads the project's config: `syncline.config.ts` (code) or `syncline.config.yaml` / `.json`
 * (declarative HTTP streams, for users who don't write TypeScript). Both resolve to one shape.
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
    streams: streams.map(({ type: _type, ...stream }) => {
      try {
        return httpStream(stream as HttpStreamConfig);
      } catch (error) {
        if (error instanceof ConfigError) throw new ConfigError(`${shown}: ${error.message}`);
        throw error;
      }
    }),
  };
  return resolveConfig(config, shown, options.store);
}
