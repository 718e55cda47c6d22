import { ConfigError } from './errors.ts';

/**
 * A stream's name is also its table's name, so it must be a plain SQL identifier in both stores:
 * lower-case letters, digits and `_`, starting with a letter, at most 63 characters (PostgreSQL's
 * limit), and not starting with `syncline_` (the system tables' prefix).
 */
export const STREAM_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function assertStreamName(name: string, where = 'stream name'): string {
  if (!STREAM_NAME.test(name) || name.startsWith('syncline_')) {
    throw new ConfigError(
      `${where} ${JSON.stringify(name)} is not valid: use lower-case letters, digits and "_", ` +
        'starting with a letter, at most 63 characters, not starting with "syncline_"',
    );
  }
  return name;
}
