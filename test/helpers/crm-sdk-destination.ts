// A custom destination as a user writes one: a small client of the simulator's CRM (a stand-in for a
// vendor SDK) behind `write`, answering ok / skipped / retry / fail per record.
import { type Destination, type DestinationItem, fail, ok, retry, skipped } from '../../src/index.ts';

/** An error of the CRM client: the HTTP status, 0 when no answer came. */
export class CrmError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A minimal CRM client, as an SDK would offer it. */
export class CrmClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async findByExternalId(externalId: string): Promise<string | null> {
    const found = await this.call('GET', `/contacts?external_id=${encodeURIComponent(externalId)}`);
    const first = (found as { results: { id: string }[] }).results[0];
    return first ? first.id : null;
  }

  async create(fields: object, idempotencyKey: string): Promise<string> {
    return (
      (await this.call('POST', '/contacts', fields, { 'idempotency-key': idempotencyKey })) as { id: string }
    ).id;
  }

  async update(id: string, fields: object): Promise<void> {
    await this.call('PATCH', `/contacts/${encodeURIComponent(id)}`, fields);
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/contacts/${encodeURIComponent(id)}`);
  }

  private async call(method: string, path: string, body?: object, headers: Record<string, string> = {}) {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new CrmError(0, `${method} ${path}: no answer (${(error as Error).message})`);
    }
    const text = await response.text();
    if (!response.ok) throw new CrmError(response.status, `${method} ${path}: ${response.status} ${text}`);
    return text === '' ? null : JSON.parse(text);
  }
}

/** The CRM as a destination: look up before creating, so a lost answer never makes a second contact. */
export function crmDestination(client: CrmClient): Destination {
  const writeOne = async (item: DestinationItem, mode: string) => {
    try {
      if (item.op === 'delete') {
        // Unknown to the map, the contact may exist all the same (a create whose answer was lost).
        const id = item.externalId ?? (await client.findByExternalId(item.key));
        if (id === null) return skipped();
        await client.remove(id).catch((error: unknown) => {
          if (!(error instanceof CrmError && error.status === 404)) throw error; // gone already: done
        });
        return ok(id);
      }
      const fields = item.payload as object;
      let id = item.externalId;
      if (id !== null) {
        try {
          await client.update(id, fields);
          return ok(id);
        } catch (error) {
          if (!(error instanceof CrmError && error.status === 404)) throw error;
        }
      }
      id = await client.findByExternalId(item.key);
      if (id !== null) {
        await client.update(id, fields);
        return ok(id);
      }
      if (mode === 'update-only') return skipped();
      return ok(await client.create(fields, item.idempotencyKey));
    } catch (error) {
      if (!(error instanceof CrmError)) throw error;
      if (error.status === 401 || error.status === 403) throw error; // the credentials: stop
      if (error.status === 0 || error.status === 429 || error.status >= 500) return retry(error.message);
      return fail(error.message); // a validation error: this record only
    }
  };
  return {
    write: (batch, context) => Promise.all(batch.map((item) => writeOne(item, context.mode))),
  };
}
