import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A contact as the fake CRM keeps it. */
export type Contact = { id: string } & Record<string, unknown>;

/**
 * A small CRM over loopback HTTP, the kind of API destinations write to: contacts created by
 * `POST /contacts` (deduplicated by `Idempotency-Key`; 422 without an email, while `requireEmail`), found by
 * `GET /contacts?external_id=`, changed by `PATCH /contacts/:id`, removed by `DELETE /contacts/:id`;
 * every request needs `authorization: Bearer <token>`. Failures can be injected per request.
 */
export class FakeCrm {
  readonly contacts = new Map<string, Contact>();
  /** Every request: method, path with query, and the idempotency key if any. */
  readonly requests: { method: string; path: string; idempotencyKey?: string; authorization?: string }[] = [];
  #byKey = new Map<string, string>();
  #next = 1;
  #failures: { status: number; retryAfter?: string; times: number }[] = [];
  /** Whether `POST /contacts` refuses a contact without an email (422). Set false to accept it. */
  requireEmail = true;
  #server: Server;
  url = '';

  constructor(readonly token = 'crm-token') {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The next `times` requests answer `status` (with `Retry-After` when given). */
  failNext(status: number, times = 1, retryAfter?: string): void {
    this.#failures.push({ status, times, ...(retryAfter ? { retryAfter } : {}) });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://crm');
    const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
    const authorization = req.headers.authorization;
    this.requests.push({
      method: req.method ?? '',
      path: `${url.pathname}${url.search}`,
      ...(idempotencyKey ? { idempotencyKey } : {}),
      ...(authorization ? { authorization } : {}),
    });
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const failure = this.#failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.#failures.shift();
      send(
        failure.status,
        { error: 'injected' },
        failure.retryAfter ? { 'retry-after': failure.retryAfter } : {},
      );
      return;
    }
    if (authorization !== `Bearer ${this.token}`) return send(401, { error: 'bad token' });
    const body = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      : {};
    const [, collection, id] = url.pathname.split('/');
    if (collection !== 'contacts') return send(404, { error: 'no such route' });
    if (req.method === 'POST' && !id) {
      if (idempotencyKey && this.#byKey.has(idempotencyKey)) {
        return send(200, this.contacts.get(this.#byKey.get(idempotencyKey)!));
      }
      if (this.requireEmail && typeof body.email !== 'string')
        return send(422, { error: 'email is required' });
      const contact: Contact = { ...body, id: `c_${this.#next++}` };
      this.contacts.set(contact.id, contact);
      if (idempotencyKey) this.#byKey.set(idempotencyKey, contact.id);
      return send(201, contact);
    }
    if (req.method === 'GET' && !id) {
      const externalId = url.searchParams.get('external_id');
      return send(200, { results: [...this.contacts.values()].filter((c) => c.external_id === externalId) });
    }
    const contact = id ? this.contacts.get(id) : undefined;
    if (!contact) return send(404, { error: 'no such contact' });
    if (req.method === 'PATCH') {
      Object.assign(contact, body, { id: contact.id });
      return send(200, contact);
    }
    if (req.method === 'DELETE') {
      this.contacts.delete(contact.id);
      return send(204);
    }
    send(405, { error: 'method not allowed' });
  }
}
