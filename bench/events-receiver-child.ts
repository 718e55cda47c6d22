/**
 * The webhook receiver of the events section, in its own process: a plain `node:http` server on
 * 127.0.0.1 that answers every POST 200 after reading its body and counting its events (a body is
 * one event or `{ "events": [...] }`). Every 50th request of a path has its Standard Webhooks
 * signature verified (a bad one fails the request with 401: the bench then sees the sink fail).
 * Arrival times are kept per path, for the latency measurement: `GET /_arrivals?path=/x` answers
 * `{ count, arrivals: [[key, epochMs], ...] }`; `GET /_count?path=/x` only the count.
 *
 * Prints `{ "url": "http://127.0.0.1:<port>" }` once listening, then runs until the bench stops it.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { childArgs, exitWithParent, progress } from './child-io.ts';

export interface ReceiverChildArgs {
  /** The Standard Webhooks secret (`whsec_...`) the sender signs with. */
  readonly secret: string;
  /** Keep each event's key and arrival time (latency runs); off for throughput. */
  readonly keepArrivals: boolean;
}

export interface ReceiverReady {
  readonly url: string;
}

const VERIFY_EVERY = 50;

interface PathLog {
  requests: number;
  events: number;
  keys: string[];
  at: number[];
}

function main(): void {
  exitWithParent();
  const args = childArgs<ReceiverChildArgs>();
  const verifier = new Webhook(args.secret);
  const paths = new Map<string, PathLog>();
  const logOf = (path: string): PathLog => {
    let log = paths.get(path);
    if (!log) {
      log = { requests: 0, events: 0, keys: [], at: [] };
      paths.set(path, log);
    }
    return log;
  };

  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'GET') {
      const log = logOf(url.searchParams.get('path') ?? '/');
      const body =
        url.pathname === '/_arrivals'
          ? { count: log.events, arrivals: log.keys.map((k, i) => [k, log.at[i]]) }
          : { count: log.events, requests: log.requests };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const raw = Buffer.concat(chunks).toString('utf8');
      const log = logOf(url.pathname);
      log.requests++;
      if (log.requests % VERIFY_EVERY === 1) {
        try {
          verifier.verify(raw, req.headers as Record<string, string>);
        } catch (error) {
          progress(`bad signature on ${url.pathname}: ${String(error)}`);
          res.writeHead(401).end();
          return;
        }
      }
      const parsed = JSON.parse(raw) as { events?: { key: string }[]; key?: string };
      const events = parsed.events ?? [parsed as { key: string }];
      log.events += events.length;
      if (args.keepArrivals) {
        for (const event of events) {
          log.keys.push(event.key);
          log.at.push(at);
        }
      }
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    const ready: ReceiverReady = { url: `http://127.0.0.1:${address.port}` };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  });
}

main();
