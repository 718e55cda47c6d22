import { randomBytes } from 'node:crypto';
import type { Store } from '../../src/core/store.ts';
import type { StoredRecord } from '../../src/core/types.ts';
import type { CrmContact, CrmFaults, SimulatorServer } from '../../src/simulator/index.ts';
import { ChaosRandom } from './chaos-schedule.ts';

/** The destination of a `--destination` run: the simulator's customers into its CRM. */
export const DESTINATION_NAME = 'chaos_crm';

/** The environment variable the CRM's token reaches the child processes by. */
export const CRM_TOKEN_ENV = 'SYNCLINE_CHAOS_CRM_TOKEN';

/** A token of the run's own for the CRM (its `token` option, and the destination's `tokenEnv`). */
export function crmToken(): string {
  return `crm_${randomBytes(18).toString('hex')}`;
}

/**
 * Whether a run's CRM honours `Idempotency-Key` when not told (`--crm-idempotency`): odd seeds on,
 * even seeds off, so half of the runs rely on find-before-create alone to stay single.
 */
export function idempotencyForSeed(seed: number): boolean {
  return Math.abs(seed) % 2 === 1;
}

/**
 * The payload the destination sends for a customer: every field it maps, `phone`, `plan` and the
 * city among them, which updates change, so a contact left behind by a lost update shows as stale.
 * The harness computes the same mapping to compare the CRM with the store.
 */
const MAPPED = {
  email: 'email',
  name: 'name',
  phone: 'phone',
  plan: 'plan',
  city: 'address.city',
  version: 'version',
} as const;

/** What a record's contact must hold: the mapped fields and its key as `external_id`. */
export function expectedContact(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { external_id: String(record.id) };
  for (const [field, path] of Object.entries(MAPPED)) {
    let value: unknown = record;
    for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
    out[field] = value;
  }
  return out;
}

/** The config's `destinations:` entry: mode mirror, find-before-create, the token from the environment. */
export function destinationConfig(simUrl: string, stream: string): Record<string, unknown> {
  return {
    name: DESTINATION_NAME,
    type: 'http',
    streams: [stream],
    baseUrl: `${simUrl}/crm`,
    tokenEnv: CRM_TOKEN_ENV,
    allowPrivateTargets: true,
    mode: 'mirror',
    map: { ...MAPPED, external_id: { template: '{id}' } },
    create: { path: '/contacts' },
    update: { path: '/contacts/{externalId}' },
    find: { path: '/contacts', query: { external_id: '{key}' }, idPath: 'results.0.id' },
    delete: { path: '/contacts/{externalId}' },
    timeout: '2s',
    retry: { base: '100ms', max: '2s' },
  };
}

/**
 * The CRM's faults during the chaos, seeded: writes that take effect and lose their answer (the
 * socket destroyed, or a 504) at a few percent each, and a little of 500/503, resets and slow
 * answers (short ones, under the destination's 2 s timeout, so it keeps going).
 */
export function crmChaosFaults(seed: number): Partial<CrmFaults> {
  const random = new ChaosRandom(seed * 104_729 + 31);
  const share = (min: number, max: number) => Math.round((min + random.next() * (max - min)) * 1000) / 1000;
  return {
    lostResponse: share(0.02, 0.05),
    lostResponse504: share(0.02, 0.05),
    serverError: share(0.005, 0.02),
    reset: share(0.005, 0.015),
    slow: share(0.005, 0.02),
    slowMs: random.int(100, 400),
  };
}

/** Marks the differences of `skippedDeletes` (a zombie and its unmapped contact). */
export const SKIPPED_DELETE = '(a delete without a map row: the unconfirmed create was never undone)';

/** What the CRM holds against the store's final records of the destination's stream. */
export interface DestinationCheck {
  readonly name: string;
  readonly stream: string;
  /** The store's records of the stream (live and deleted). */
  readonly records: number;
  readonly liveRecords: number;
  /** Contacts in the CRM at the end. */
  readonly contacts: number;
  /** Live records with no contact whose external_id is their key. */
  readonly missing: number;
  /** External ids with two or more contacts. */
  readonly duplicated: number;
  /** Live records with a contact whose mapped fields differ from the record's mapping. */
  readonly stale: number;
  /** Contacts whose record is deleted (mirror mode deletes them), or that no record has. */
  readonly zombie: number;
  /** Contacts the external-ID map does not point at, and map rows pointing at no (or another key's) contact. */
  readonly unmapped: number;
  /**
   * Of the zombies, those no map row points at: the CRM applied a create the destination never
   * confirmed (its answer lost, or the process killed before the confirmation), then the record was
   * deleted, and the delete found no map row to follow. Each is also one of `unmapped`.
   */
  readonly skippedDeletes: number;
  /** Dead letters of the destination (records the CRM refused): none may exist. */
  readonly deadLetters: number;
  readonly idempotency: boolean;
  /** The CRM's own counts during the run. */
  readonly lostResponses: number;
  readonly serverErrors: number;
  readonly resets: number;
  readonly idempotentReplays: number;
  readonly creates: number;
  readonly requests: number;
  /** The first keys of each kind of difference. */
  readonly differences: string[];
}

/** Every record of `stream`, in key order. */
async function allRecords(store: Store, stream: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  let afterKey: string | undefined;
  for (;;) {
    const page = await store.scanRecords(stream, {
      ...(afterKey === undefined ? {} : { afterKey }),
      limit: 5000,
    });
    out.push(...page);
    if (page.length < 5000) return out;
    afterKey = page.at(-1)!.key;
  }
}

/**
 * Compares the CRM's ground truth (its contacts) with the store's final records of the stream and
 * the destination's external-ID map; counts the destination's dead letters.
 */
export async function checkDestination(
  store: Store,
  sim: SimulatorServer,
  stream: string,
  idempotency: boolean,
): Promise<DestinationCheck> {
  const records = await allRecords(store, stream);
  const contacts = sim.crm.contacts();
  const byExternalId = new Map<string, CrmContact[]>();
  for (const contact of contacts) {
    const id = String(contact.external_id);
    const list = byExternalId.get(id);
    if (list) list.push(contact);
    else byExternalId.set(id, [contact]);
  }
  const contactById = new Map(contacts.map((c) => [c.id, c]));
  const mappings = await store.lookupMappings({
    destination: DESTINATION_NAME,
    stream,
    keys: records.map((r) => r.key),
  });
  const differences: string[] = [];
  const note = (kinds: Map<string, number>, kind: string, text: string) => {
    const seen = kinds.get(kind) ?? 0;
    kinds.set(kind, seen + 1);
    if (seen < 3) differences.push(`${DESTINATION_NAME} ${kind}: ${text}`);
  };
  const kinds = new Map<string, number>();
  let missing = 0;
  let duplicated = 0;
  let stale = 0;
  let zombie = 0;
  let unmapped = 0;
  let live = 0;
  const pointedAt = new Set(
    [...mappings.values()].filter((m) => m.status === 'synced').map((m) => m.externalId),
  );
  /** Contacts of deleted records that no map row points at: see `skippedDeletes`. */
  const skippedDeletes = new Set<string>();
  const known = new Set<string>();
  for (const record of records) {
    const data = record.data as Record<string, unknown>;
    const externalId = String(data.id ?? record.key);
    known.add(externalId);
    const found = byExternalId.get(externalId) ?? [];
    const mapping = mappings.get(record.key);
    if (found.length > 1) {
      duplicated++;
      note(
        kinds,
        'duplicated',
        `${record.key} has ${found.length} contacts (${found.map((c) => c.id).join(', ')})`,
      );
    }
    if (record.deletedAt !== null) {
      for (const contact of found) {
        zombie++;
        const skipped = !pointedAt.has(contact.id);
        if (skipped) skippedDeletes.add(contact.id);
        note(
          kinds,
          skipped ? `zombie ${SKIPPED_DELETE}` : 'zombie',
          `${record.key} deleted locally at ${record.deletedAt}, contact ${contact.id} (created ${contact.created_at}, updated ${contact.updated_at}) live; map: ${mapping ? `${mapping.status} ${mapping.externalId} at ${mapping.syncedAt}` : 'none'}`,
        );
      }
    } else {
      live++;
      if (found.length === 0) {
        missing++;
        note(
          kinds,
          'missing',
          `${record.key} v${record.version} has no contact (map: ${mapping ? `${mapping.status} ${mapping.externalId}` : 'none'})`,
        );
      } else {
        const want = expectedContact(data);
        const off = found.find((c) => Object.entries(want).some(([field, value]) => c[field] !== value));
        if (off) {
          stale++;
          const fields = Object.keys(want).filter((field) => off[field] !== want[field]);
          note(
            kinds,
            'stale',
            `${record.key} contact ${off.id}: ${fields.map((f) => `${f} ${JSON.stringify(off[f])} != ${JSON.stringify(want[f])}`).join(', ')}`,
          );
        }
      }
    }
    // The map: a synced row must point at a live contact of this key.
    if (mapping?.status === 'synced') {
      const target = contactById.get(mapping.externalId);
      if (!target || String(target.external_id) !== externalId) {
        unmapped++;
        note(
          kinds,
          'unmapped',
          `${record.key}: map row points at ${mapping.externalId}, ${target ? `a contact of ${String(target.external_id)}` : 'no contact'}`,
        );
      }
    }
  }
  for (const contact of contacts) {
    const externalId = String(contact.external_id);
    if (!known.has(externalId)) {
      zombie++;
      note(kinds, 'zombie', `contact ${contact.id} has external_id ${externalId}, which no record has`);
    }
    if (!pointedAt.has(contact.id)) {
      unmapped++;
      note(
        kinds,
        skippedDeletes.has(contact.id) ? `unmapped ${SKIPPED_DELETE}` : 'unmapped',
        `contact ${contact.id} (external_id ${externalId}) has no map row pointing at it`,
      );
    }
  }
  const letters = (await store.listDeadLetters({ limit: 1_000_000, all: true })).filter(
    (letter) => letter.sink === DESTINATION_NAME,
  );
  for (const letter of letters.slice(0, 3)) {
    differences.push(`${DESTINATION_NAME} dead letter ${letter.key}: ${letter.reason.slice(0, 200)}`);
  }
  const stats = sim.crm.stats();
  return {
    name: DESTINATION_NAME,
    stream,
    records: records.length,
    liveRecords: live,
    contacts: contacts.length,
    missing,
    duplicated,
    stale,
    zombie,
    unmapped,
    skippedDeletes: skippedDeletes.size,
    deadLetters: letters.length,
    idempotency,
    lostResponses: stats.faults.lostResponse + stats.faults.lostResponse504,
    serverErrors: stats.faults.serverError,
    resets: stats.faults.reset,
    idempotentReplays: stats.idempotentReplays,
    creates: stats.creates,
    requests: Object.values(stats.requests).reduce((sum, n) => sum + n, 0),
    differences,
  };
}

/** Differences of a check (each one fails the run). */
export function destinationBad(check: DestinationCheck): number {
  return check.missing + check.duplicated + check.stale + check.zombie + check.unmapped + check.deadLetters;
}

/** The check's part of the summary line. */
export function destinationSummary(check: DestinationCheck): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return (
    `destination ${check.name}: ${n(check.liveRecords)} records, ${n(check.contacts)} contacts, ` +
    `${n(check.missing)} missing, ${n(check.duplicated)} duplicated, ${n(check.stale)} stale, ` +
    `${n(check.zombie)} zombie${check.skippedDeletes ? ` (${n(check.skippedDeletes)} of them deletes without a map row)` : ''}, ${n(check.unmapped)} unmapped, ${n(check.deadLetters)} dead letters; ` +
    `CRM: ${n(check.lostResponses)} lost responses, ${n(check.serverErrors)} 5xx, ${n(check.resets)} resets, ` +
    `${n(check.creates)} creates (${n(check.idempotentReplays)} idempotent replays) in ${n(check.requests)} requests, ` +
    `idempotency ${check.idempotency ? 'on' : 'off'}`
  );
}
