import { ConfigError } from '../core/errors.ts';
import { assertStreamName } from '../core/stream-name.ts';

/**
 * The longest name of a stream that keeps history. Its history table `<stream>_history` and the
 * index `<stream>_history__key` must fit PostgreSQL's 63-character identifiers (longer ones are
 * truncated silently, and a truncated history table's name would be the stream table's own).
 * Both stores apply it, so a configuration valid on SQLite is valid on PostgreSQL.
 */
export const HISTORY_STREAM_NAME_MAX = 50;

/** The unquoted name of a stream's history table; throws `ConfigError` for a name too long for one. */
export function historyTableName(stream: string): string {
  assertStreamName(stream);
  if (stream.length > HISTORY_STREAM_NAME_MAX) {
    throw new ConfigError(
      `stream "${stream}" cannot keep history: its name has ${stream.length} characters, ` +
        `at most ${HISTORY_STREAM_NAME_MAX} are allowed with \`history: true\``,
    );
  }
  return `${stream}_history`;
}

/** Refuses history for `stream` when a stream already uses the name its history table needs. */
export function assertNoStreamNamed(table: string, existing: boolean, stream: string): void {
  if (existing) {
    throw new ConfigError(
      `stream "${stream}" cannot keep history: its history table would be "${table}", ` +
        'which is the name of another stream; rename one of the two',
    );
  }
}
