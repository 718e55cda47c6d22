import { z } from 'zod';
import { ConfigError } from '../core/errors.ts';
import { firstIssue } from '../core/strict-object.ts';

/**
 * The fields every stream may have besides its kind's own (`schema`, `hash`, `backfill`...): a
 * stream factory in code (`http.stream`, `webhook.stream`, `websocket.stream`) lets them through,
 * since they are checked with the stream definition it returns when the config is validated.
 */
const streamFieldsInCode = {
  schema: z.unknown().optional(),
  hash: z.unknown().optional(),
  onVersionRegression: z.unknown().optional(),
  history: z.unknown().optional(),
  columns: z.unknown().optional(),
  backfill: z.unknown().optional(),
  reconcile: z.unknown().optional(),
  schedule: z.unknown().optional(),
};

/**
 * The check of what a stream factory got in code, which the type checker cannot fully do (a `.js`
 * config, a spread, a cast): a ConfigError such as `stream "people": cursr: unknown key; did you
 * mean "cursor"?`, or `<factory>: ...` when the object has no name.
 */
export function inCodeValidator(schema: z.ZodObject, factory: string): (config: unknown) => void {
  const inCode = schema.extend(streamFieldsInCode);
  return (config) => {
    const result = inCode.safeParse(config);
    if (result.success) return;
    const name = (config as { name?: unknown } | null)?.name;
    const issue = firstIssue(result.error.issues);
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new ConfigError(
      `${typeof name === 'string' ? `stream "${name}"` : factory}: ${path}${issue.message}`,
    );
  };
}
