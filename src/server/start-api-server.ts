import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/types.ts';

export const DEFAULT_LISTEN = '127.0.0.1:7373';

export interface ApiServerOptions {
  readonly app: Hono;
  /** `host:port` (`[::1]:7373` for IPv6); port 0 picks a free one. Default `127.0.0.1:7373`. */
  readonly listen?: string;
  /** Whether the app requires a token: listening beyond loopback without one is refused. */
  readonly token: string | null;
  readonly log: Logger;
  /**
   * Node's own bound on a whole request (headers and body), a backstop under the app's timeout for
   * a client that sends slowly. Default 60 s; headers must arrive within 10 s.
   */
  readonly requestTimeoutMs?: number;
}

export interface ApiServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Stops accepting, ends idle keep-alive connections, lets requests in progress finish. */
  close(): Promise<void>;
}

/** `host:port` split and checked; `ConfigError` naming the value when it is not that. */
export function parseListen(listen: string): { readonly host: string; readonly port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  const host = match?.[1] ?? match?.[2] ?? '';
  const port = Number(match?.[3]);
  if (!match || host === '' || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(
      `listen address "${listen}" is not host:port (e.g. 127.0.0.1:7373, [::1]:7373, 0.0.0.0:7373)`,
    );
  }
  return { host, port };
}

/** Whether only this machine can reach `host`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * Serves the API over HTTP. Without a token only a loopback address is accepted: anything else
 * would open the operator's actions (reset, replay) to the network.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const listen = options.listen ?? DEFAULT_LISTEN;
  const { host, port } = parseListen(listen);
  if (options.token === null && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to serve the API on ${listen} without a token: set SYNCLINE_API_TOKEN, or listen on 127.0.0.1`,
    );
  }
  const server = createAdaptorServer({ fetch: options.app.fetch }) as Server;
  server.requestTimeout = options.requestTimeoutMs ?? 60_000;
  server.headersTimeout = Math.min(10_000, server.requestTimeout);
  // Once closing, every answer ends its connection: a client that keeps a keep-alive connection
  // busy (a webhook provider retrying) would otherwise hold `close()` until requestTimeout.
  let stopping = false;
  server.prependListener('request', (_req, res) => {
    if (stopping && !res.headersSent) res.setHeader('connection', 'close');
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          error.code === 'EADDRINUSE'
            ? `cannot serve the API on ${listen}: the address is already in use (another syncline run?)`
            : `cannot serve the API on ${listen}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => options.log.error({ error: error.message }, 'API server error'));
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${bound}`;
  options.log.info({ url }, 'API listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      stopping = true;
      closing ??= new Promise<void>((resolve) => {
        // Requests in progress finish within requestTimeout; then what is left is cut.
        const force = setTimeout(() => server.closeAllConnections(), server.requestTimeout);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
