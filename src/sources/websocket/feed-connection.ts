import type { WebSocket } from 'ws';
import { FatalError, TransientError } from '../../core/errors.ts';

/** What a connection hands over, in order: text frames, then exactly one `closed`. */
export type FeedEvent =
  | { readonly kind: 'message'; readonly text: string }
  | {
      readonly kind: 'closed';
      readonly code: number;
      /** The server's reason, or ours: `heartbeat timeout`, `planned reconnect`, `buffer full`. */
      readonly reason: string;
      /** We closed it on purpose (`maxConnectionAge`); reconnect without backoff. */
      readonly planned: boolean;
    };

export interface FeedConnectionOptions {
  /** The URL to connect to (it may carry a token: never log it). */
  readonly url: string;
  /** The URL to name in messages. */
  readonly shownUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Close on purpose at this age; null: never. */
  readonly maxAgeMs: number | null;
  readonly stream: string;
  readonly signal: AbortSignal;
}

/** Frames held while the reader is busy (a gap-fill, a slow commit); past it the connection is dropped and gap-filled. */
const MAX_BUFFERED_FRAMES = 100_000;
/** How long the handshake may take. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long our own close may wait for the server's answer before the socket is cut. */
const CLOSE_GRACE_MS = 1000;
/** Upgrade refusals that retrying cannot fix: the config or the credential is wrong. */
const FATAL_STATUSES = new Set([400, 401, 403, 404, 405, 410, 426]);

/**
 * One WebSocket connection as a queue of events: frames are buffered as they come (nothing is
 * applied from a callback), the reader takes them with `next`. It sends protocol pings every
 * heartbeat interval and cuts the connection when nothing (no frame, ping or pong) came within the
 * timeout, and closes it on purpose at `maxAgeMs`.
 */
export class FeedConnection {
  readonly #ws: WebSocket;
  readonly #events: FeedEvent[] = [];
  #wake: (() => void) | null = null;
  #lastSeen = Date.now();
  #closeReason: { reason: string; planned: boolean } | null = null;
  #ended = false;
  readonly #timers: NodeJS.Timeout[] = [];

  private constructor(ws: WebSocket, options: FeedConnectionOptions) {
    this.#ws = ws;
    const seen = () => {
      this.#lastSeen = Date.now();
    };
    ws.on('message', (data, isBinary) => {
      seen();
      if (isBinary) return;
      if (this.#events.length >= MAX_BUFFERED_FRAMES) {
        this.#cut('buffer full', false);
        return;
      }
      this.#push({ kind: 'message', text: String(data) });
    });
    ws.on('pong', seen);
    ws.on('ping', seen);
    ws.on('close', (code, reason) => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#ended = true;
      const ours = this.#closeReason;
      this.#push({
        kind: 'closed',
        code,
        reason: ours?.reason ?? (String(reason) || 'no reason given'),
        planned: ours?.planned ?? false,
      });
    });
    this.#timers.push(
      setInterval(
        () => {
          if (Date.now() - this.#lastSeen > options.heartbeatTimeoutMs) {
            this.#cut('heartbeat timeout', false);
            return;
          }
          if (ws.readyState === ws.OPEN) ws.ping();
        },
        Math.min(options.heartbeatIntervalMs, options.heartbeatTimeoutMs),
      ),
    );
    if (options.maxAgeMs !== null) {
      this.#timers.push(
        setTimeout(() => {
          this.#closeReason = { reason: 'planned reconnect', planned: true };
          ws.close(1000, 'planned reconnect');
          this.#timers.push(setTimeout(() => ws.terminate(), CLOSE_GRACE_MS));
        }, options.maxAgeMs),
      );
    }
  }

  /**
   * Connects; rejects with a `FatalError` when the upgrade is refused for good (401, 403, 404...)
   * and a `TransientError` when it may work later (refused connection, timeout, 5xx, 429).
   */
  static async open(options: FeedConnectionOptions): Promise<FeedConnection> {
    const { stream, shownUrl, signal } = options;
    // Loaded by the first connection (a CLI without a WebSocket stream starts faster).
    const { WebSocket } = await import('ws');
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(options.url, {
        headers: { ...options.headers },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        ws.terminate();
        reject(error);
      };
      const onAbort = () =>
        fail(new TransientError(`stream "${stream}": stopped while connecting`, { stream }));
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('error', (error: Error & { code?: string }) => {
        fail(
          new TransientError(
            `stream "${stream}": cannot connect to ${shownUrl}: ${error.code ?? error.message}`,
            { stream, summary: `${shownUrl}: ${error.code ?? error.message}` },
          ),
        );
      });
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const what =
          `${shownUrl} refused the WebSocket upgrade with ${status} ${res.statusMessage ?? ''}`.trim();
        if (FATAL_STATUSES.has(status)) {
          const hint =
            status === 401 || status === 403
              ? ': check the token (websocket.tokenEnv) or headers'
              : ': check websocket.url';
          fail(new FatalError(`stream "${stream}": ${what}${hint}`, { stream }));
        } else {
          fail(new TransientError(`stream "${stream}": ${what}`, { stream, summary: what }));
        }
      });
      ws.once('open', () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(new FeedConnection(ws, options));
      });
    });
  }

  send(value: unknown): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(value));
  }

  /** The next event, or null when none came within `waitMs` (or the signal aborted). */
  async next(waitMs: number, signal: AbortSignal): Promise<FeedEvent | null> {
    if (this.#events.length === 0 && waitMs > 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#wake = null;
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal.addEventListener('abort', done, { once: true });
        this.#wake = done;
      });
    }
    return this.#events.shift() ?? null;
  }

  /** Frames waiting to be read. */
  get buffered(): number {
    return this.#events.length;
  }

  /** Closes (at the end of a run): a clean close, cut after a grace period. */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#ended) return;
    this.#closeReason ??= { reason: 'run ended', planned: true };
    this.#ws.close(1000, 'run ended');
    setTimeout(() => this.#ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  #cut(reason: string, planned: boolean): void {
    if (this.#closeReason !== null) return;
    this.#closeReason = { reason, planned };
    this.#ws.terminate();
  }

  #push(event: FeedEvent): void {
    this.#events.push(event);
    this.#wake?.();
  }
}
