import { FatalError, StoreUnavailableError, SyncError, TransientError } from '../../core/errors.ts';
import { redactUrl, scrubSecret } from '../../core/redact-url.ts';
import { pgTarget } from './pg-target.ts';

/** How long `open()` waits for a connection before it reports the server unreachable. */
export const CONNECT_TIMEOUT_MS = 5000;

/** Parses a PostgreSQL URL, or throws `StoreUnavailableError` naming it without its password. */
export function parsePgUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw new StoreUnavailableError(
      `cannot connect to PostgreSQL: the URL ${JSON.stringify(redactUrl(url))} is malformed; ` +
        'expected postgres://user:password@host:port/database',
    );
  }
  return parsed;
}

/**
 * One line saying which server could not be reached and what to do about it, never the password.
 * `error` is what pg or the socket threw while connecting.
 */
export function connectError(url: URL, error: unknown): StoreUnavailableError {
  const reason = scrubSecret(connectReason(error, url), url.password);
  return new StoreUnavailableError(`cannot connect to PostgreSQL at ${pgTarget(url)}: ${reason}`, {
    cause: error,
  });
}

function connectReason(error: unknown, url: URL): string {
  const code = errorCode(error);
  const user = decodeURIComponent(url.username) || 'the default user';
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED); is the server running?';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host not found (${code}); check the host name in the URL`;
    case 'ETIMEDOUT':
    case 'TIMEOUT':
      return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s (timeout); is the server running and reachable?`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the server closed the connection (${code}); check its logs and its SSL settings`;
    case '28P01':
    case '28000':
      return `authentication failed for user ${user} (${code}); check the user and password`;
    case '3D000':
      return `the database does not exist (${code}); create it or fix the URL`;
    case '57P03':
      return 'the server is starting up or shutting down (57P03); try again shortly';
    case '53300':
      return 'the server has too many connections (53300); lower poolSize or raise max_connections';
    default:
      if (/Connection terminated/i.test(firstLine(error))) {
        return 'the server closed the connection at once; is this port PostgreSQL, and does it accept this client?';
      }
      return `${firstLine(error)}${code ? ` (${code})` : ''}`;
  }
}

/** The socket or SQLSTATE code of an error; `TIMEOUT` for pg's connection timeout. */
export function errorCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const innerCode = errorCode(inner);
      if (innerCode !== undefined) return innerCode;
    }
  }
  if (/timeout/i.test(error.message)) return 'TIMEOUT';
  return undefined;
}

/** SQLSTATE classes and socket codes after which the same statement may well succeed. */
function isTransient(code: string | undefined): boolean {
  if (code === undefined) return false;
  return (
    code.startsWith('08') || // connection exception
    code === '40001' || // serialization failure
    code === '40P01' || // deadlock detected
    code === '53300' || // too many connections
    code === '57P01' || // admin shutdown
    code === '57P02' || // crash shutdown
    code === '57P03' || // cannot connect now
    code === 'ECONNRESET' ||
    code === 'ECONNREFUSED' ||
    code === 'EPIPE' ||
    code === 'ETIMEDOUT' ||
    code === 'TIMEOUT'
  );
}

/**
 * Wraps whatever pg threw into a typed error: `TransientError` when retrying may help (lost
 * connection, deadlock), `FatalError` otherwise. `what` says what was being done, e.g.
 * `committing a page`. SyncErrors pass through unchanged.
 */
export function storeError(error: unknown, what: string, stream?: string): SyncError {
  if (error instanceof SyncError) return error;
  const code = errorCode(error);
  const where = stream === undefined ? '' : `stream "${stream}": `;
  const detail = `${firstLine(error)}${code ? ` (${code})` : ''}`;
  if (code === 'TIMEOUT' && /connection/i.test(firstLine(error))) {
    return new TransientError(`${where}${what} failed: no PostgreSQL connection free or reachable`, {
      stream,
      cause: error,
    });
  }
  if (isTransient(code) || /Connection terminated/i.test(firstLine(error))) {
    return new TransientError(`${where}${what} failed: ${detail}; it may succeed if retried`, {
      stream,
      cause: error,
    });
  }
  if (code === '23505' && what === 'committing a page') {
    return new FatalError(
      `${where}${what} failed: a record sent as absent already exists (${firstLine(error)}); ` +
        'nothing of the page was written; this is a bug in classification or a second writer',
      { stream, cause: error },
    );
  }
  return new FatalError(`${where}${what} failed: ${detail}`, { stream, cause: error });
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] || (error instanceof Error ? error.name : 'unknown error');
}
