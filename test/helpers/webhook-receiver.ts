import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A fresh Standard Webhooks secret for the tests' senders and receivers. */
export const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/**
 * A receiver on 127.0.0.1 (port 0) that verifies every request's signature and answers with `answer`
 * (the status for the n-th request's parsed body); `accepted` holds the bodies it answered 2xx.
 */
export async function startReceiver(answer: (body: unknown, n: number) => number = () => 200, delayMs = 0) {
  const verifier = new Webhook(SECRET);
  const accepted: unknown[] = [];
  const bad: string[] = [];
  let n = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      n += 1;
      try {
        verifier.verify(body, req.headers as Record<string, string>);
      } catch (error) {
        bad.push(String(error));
        res.writeHead(401).end();
        return;
      }
      const parsed = JSON.parse(body) as unknown;
      const status = answer(parsed, n);
      if (status >= 200 && status < 300) accepted.push(parsed);
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    accepted,
    bad,
    requests: () => n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
