import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../src/core/store.ts';
import type { SimulatorServer } from '../../src/simulator/index.ts';
import { signWebhook } from '../../src/sources/webhook/webhook-signature.ts';
import { ChaosRandom } from './chaos-schedule.ts';

/** The webhook stream of a `--webhooks` run: the simulator's customers, pushed by the provider. */
export const WEBHOOK_STREAM = 'chaos_hooks';

/** The environment variable the stream's signing secret reaches the child processes by. */
export const WEBHOOK_SECRET_ENV = 'SYNCLINE_CHAOS_WEBHOOK_SECRET';

/** The event type of a hard delete (the stream's `deleteTypes`); every other change is an update. */
const DELETE_TYPE = 'customer.deleted';
const UPDATE_TYPE = 'customer.updated';

/** Shares of changes the provider never sends (lost webhooks) and sends twice (redeliveries). */
const DROP_SHARE = 0.05;
const REDELIVER_SHARE = 0.05;

/** Parallel delivery lanes; one key always takes the same lane, so its events keep their order. */
const LANES = 4;

/** A secret of the run's own (Standard Webhooks: `whsec_` and base64). */
export function webhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * The config's entry of the webhook stream: Standard Webhooks signatures, the record at `data`,
 * soft deletes as records with `deleted: true`, hard deletes as `customer.deleted` events; `poll`
 * reads the same customers over REST (the safety net), reconciled every 3 s of a service's life
 * (a reconciliation is first due one interval after the service starts, and the chaos kills
 * services after 0.5 to 8 s, so a longer interval would never run).
 */
export function webhookStreamConfig(simUrl: string, pageSize: number): Record<string, unknown> {
  return {
    name: WEBHOOK_STREAM,
    type: 'webhook',
    key: 'id',
    cursor: 'updated_at',
    version: 'version',
    deleted: 'deleted',
    // The source rolls records back (regressions); events of a rolled-back record must apply.
    onVersionRegression: 'accept',
    backfill: 'auto',
    reconcile: { maxDeleteShare: 1, schedule: { every: '3s', jitter: '500ms' } },
    webhook: {
      scheme: { type: 'standard' },
      secretsEnv: WEBHOOK_SECRET_ENV,
      record: 'data',
      deleteTypes: [DELETE_TYPE],
    },
    poll: {
      request: { baseUrl: simUrl, path: '/v1/customers', query: { style: 'cursor' }, timeoutMs: 1500 },
      pagination: { type: 'cursor', tokenPath: 'next_cursor', hasMorePath: 'has_more' },
      pageSize,
      fetchById: { path: '/v1/customers/{id}' },
    },
  };
}

/** One change as the provider made it an event. */
interface ProviderEvent {
  readonly id: string;
  readonly key: string;
  readonly body: string;
  /** Sent twice (the second after the first was answered 2xx). */
  readonly redeliver: boolean;
}

/** What the provider did: counts, and every event id the service answered 2xx. */
export interface ProviderStats {
  /** Changes made into events (dropped ones included). */
  readonly events: number;
  readonly dropped: number;
  readonly redelivered: number;
  /** Event ids answered 2xx (at least once). */
  readonly accepted: ReadonlySet<string>;
  /** Ids dropped on purpose (never sent). */
  readonly droppedIds: ReadonlySet<string>;
  /** 2xx answers saying `duplicate: true`. */
  readonly duplicateAnswers: number;
  /** Failed attempts: a non-2xx status (by status) or no answer (`error`). */
  readonly failures: Readonly<Record<string, number>>;
  /** Events read from the simulator but not answered 2xx yet. */
  readonly pending: number;
}

/** The provider side of a `--webhooks` run (see `startProvider`). */
export interface WebhookProvider {
  /** A `syncline run` listens at `url` now: every delivery goes there from here on. */
  serviceListening(url: string): void;
  /** Waits (bounded) until every change so far was answered 2xx; false when time ran out. */
  drain(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
  stats(): ProviderStats;
}

/**
 * A provider, as a real one behaves: it follows the simulator's changes of the customers (its own
 * database: the dataset's changes feed in process, each record at its newest change, so nothing
 * is missed and nothing faults on the way) from the moment it starts, makes each change an event
 * `{ type, data: <record> }` with an id of its own (`evt_<seq>`), and POSTs it, signed, to the
 * service listening now; every non-2xx or failed request is retried with backoff (the service is
 * killed under it), in order per key. Seeded, 5% of the changes are never sent (lost webhooks) and
 * 5% are sent a second time once answered (redeliveries).
 */
export function startProvider(args: {
  readonly seed: number;
  readonly sim: SimulatorServer;
  readonly secret: string;
  readonly log?: (line: string) => void;
}): WebhookProvider {
  const random = new ChaosRandom(args.seed * 7919 + 5);
  const dataset = args.sim.dataset('customers');
  let since = dataset.changes.last;
  let url: string | null = null;
  let stopped = false;
  let events = 0;
  let dropped = 0;
  let redelivered = 0;
  let duplicateAnswers = 0;
  let pending = 0;
  const accepted = new Set<string>();
  const droppedIds = new Set<string>();
  const failures: Record<string, number> = {};
  const queues: ProviderEvent[][] = Array.from({ length: LANES }, () => []);
  const wakeups: (() => void)[] = [];
  const wake = () => {
    for (const w of wakeups.splice(0)) w();
  };

  const read = () => {
    for (;;) {
      const rows = dataset.changes.after(since, 1000);
      for (const { seq, index } of rows) {
        const state = dataset.stateOf(index);
        const id = dataset.idOf(index);
        const hard = state.status === 'hard';
        const body = JSON.stringify(
          hard
            ? { id: `evt_${seq}`, type: DELETE_TYPE, data: { id } }
            : { id: `evt_${seq}`, type: UPDATE_TYPE, data: dataset.record(index) },
        );
        events++;
        const roll = random.next();
        if (roll < DROP_SHARE) {
          dropped++;
          droppedIds.add(`evt_${seq}`);
          continue;
        }
        const redeliver = roll < DROP_SHARE + REDELIVER_SHARE;
        if (redeliver) redelivered++;
        pending++;
        queues[laneOf(id)]!.push({ id: `evt_${seq}`, key: id, body, redeliver });
      }
      if (rows.length > 0) since = rows.at(-1)!.seq;
      if (rows.length < 1000) break;
    }
    wake();
  };

  /** One POST of the event to the service now; true when answered 2xx. */
  const post = async (event: ProviderEvent): Promise<boolean> => {
    const target = url;
    if (!target) {
      failures.error = (failures.error ?? 0) + 1;
      return false;
    }
    try {
      const res = await fetch(`${target}/v1/webhooks/${WEBHOOK_STREAM}`, {
        method: 'POST',
        body: event.body,
        headers: {
          ...signWebhook({ type: 'standard' }, args.secret, { body: event.body, id: event.id }),
          'content-type': 'application/json',
        },
        signal: AbortSignal.timeout(3000),
      });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) {
        if ((JSON.parse(text) as { duplicate?: boolean }).duplicate) duplicateAnswers++;
        return true;
      }
      failures[res.status] = (failures[res.status] ?? 0) + 1;
      if (res.status >= 400 && res.status < 500 && res.status !== 404) {
        args.log?.(`webhooks: ${event.id} answered ${res.status}: ${text.slice(0, 200)}`);
      }
      return false;
    } catch {
      failures.error = (failures.error ?? 0) + 1;
      return false;
    }
  };

  /** Sends until answered 2xx (backoff 25 ms doubling to 1 s), unless stopped. */
  const deliver = async (event: ProviderEvent): Promise<boolean> => {
    let delay = 25;
    while (!stopped) {
      if (await post(event)) return true;
      await sleep(delay);
      delay = Math.min(delay * 2, 1000);
    }
    return false;
  };

  const lane = async (queue: ProviderEvent[]) => {
    while (!stopped) {
      const event = queue[0];
      if (!event) {
        await new Promise<void>((resolve) => {
          wakeups.push(resolve);
          setTimeout(resolve, 100);
        });
        continue;
      }
      if (!(await deliver(event))) return;
      accepted.add(event.id);
      if (event.redeliver && !(await deliver(event))) return;
      queue.shift();
      pending--;
    }
  };

  const ticker = setInterval(read, 20);
  const lanes = queues.map((q) => lane(q));
  return {
    serviceListening(next) {
      url = next;
    },
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      read();
      while (pending > 0 && Date.now() < deadline) await sleep(50);
      read();
      return pending === 0;
    },
    async stop() {
      stopped = true;
      clearInterval(ticker);
      wake();
      await Promise.all(lanes);
    },
    stats: () => ({
      events,
      dropped,
      redelivered,
      accepted,
      droppedIds,
      duplicateAnswers,
      failures: { ...failures },
      pending,
    }),
  };
}

function laneOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % LANES;
}

/** What the store holds of the provider's events at the end. */
export interface WebhookCheck {
  readonly stream: string;
  readonly events: number;
  readonly dropped: number;
  readonly redelivered: number;
  readonly accepted: number;
  /** Accepted event ids not in the inbox. */
  readonly lost: number;
  /** Inbox rows of an event id the provider never sent (a dropped one, or an unknown one). */
  readonly unknown: number;
  /** Event ids with more than one inbox row. */
  readonly doubled: number;
  /** Inbox events after the stream's checkpoint once the final syncs ended. */
  readonly backlog: number;
  /** Changes the reconciliations during and after the chaos repaired (the initial load not counted). */
  readonly drift: number;
  readonly reconciliations: number;
  /** Events the provider never got a 2xx for (it gave up draining). */
  readonly pending: number;
  readonly duplicateAnswers: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly differences: string[];
}

/**
 * The end checks: every event answered 2xx is in the inbox, once; nothing else is; the inbox is
 * applied (backlog 0); the reconciliations found drift when events were dropped.
 */
export async function checkWebhooks(
  store: Store,
  stats: ProviderStats,
  initialRuns: ReadonlySet<string>,
): Promise<WebhookCheck> {
  const rows = new Map<string, number>();
  let afterId = 0;
  for (;;) {
    const page = await store.readInbox({ stream: WEBHOOK_STREAM, afterId, limit: 5000 });
    for (const event of page) rows.set(event.eventId, (rows.get(event.eventId) ?? 0) + 1);
    if (page.length < 5000) break;
    afterId = page.at(-1)!.id;
  }
  const differences: string[] = [];
  const lostIds = [...stats.accepted].filter((id) => !rows.has(id));
  const unknownIds = [...rows.keys()].filter((id) => !stats.accepted.has(id));
  const doubledIds = [...rows].filter(([, n]) => n > 1).map(([id]) => id);
  if (lostIds.length > 0)
    differences.push(`${WEBHOOK_STREAM}: accepted events lost: ${lostIds.slice(0, 5).join(', ')}`);
  if (unknownIds.length > 0)
    differences.push(
      `${WEBHOOK_STREAM}: inbox events never answered 2xx${unknownIds.some((id) => stats.droppedIds.has(id)) ? ' (dropped ones among them)' : ''}: ${unknownIds.slice(0, 5).join(', ')}`,
    );
  if (doubledIds.length > 0)
    differences.push(`${WEBHOOK_STREAM}: events with two inbox rows: ${doubledIds.slice(0, 5).join(', ')}`);
  const state = await store.getState(WEBHOOK_STREAM);
  const applied = (state?.checkpoint as { inbox?: number } | null)?.inbox ?? 0;
  const backlog = await store.inboxBacklog({ stream: WEBHOOK_STREAM, afterId: applied, limit: 100_000 });
  if (backlog > 0)
    differences.push(`${WEBHOOK_STREAM}: ${backlog} inbox events after the checkpoint (${applied})`);
  const runs = await store.listRuns({ stream: WEBHOOK_STREAM, limit: 100_000 });
  const reconciles = runs.filter(
    (r) =>
      r.mode === 'reconcile' && (r.status === 'ok' || r.status === 'partial') && !initialRuns.has(r.runId),
  );
  const drift = reconciles.reduce(
    (sum, r) => sum + r.counters.inserted + r.counters.updated + r.counters.deleted,
    0,
  );
  if (stats.dropped > 0 && drift === 0)
    differences.push(`${WEBHOOK_STREAM}: ${stats.dropped} events dropped, yet no reconciliation found drift`);
  if (stats.pending > 0) differences.push(`${WEBHOOK_STREAM}: ${stats.pending} events never answered 2xx`);
  return {
    stream: WEBHOOK_STREAM,
    events: stats.events,
    dropped: stats.dropped,
    redelivered: stats.redelivered,
    accepted: stats.accepted.size,
    lost: lostIds.length,
    unknown: unknownIds.length,
    doubled: doubledIds.length,
    backlog,
    drift,
    reconciliations: reconciles.length,
    pending: stats.pending,
    duplicateAnswers: stats.duplicateAnswers,
    failures: stats.failures,
    differences,
  };
}

/** Differences of a check (each one fails the run). */
export function webhooksBad(check: WebhookCheck): number {
  return (
    check.lost +
    check.unknown +
    check.doubled +
    check.backlog +
    check.pending +
    (check.dropped > 0 && check.drift === 0 ? 1 : 0)
  );
}

/** The check's part of the summary line. */
export function webhooksSummary(check: WebhookCheck): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const failed = Object.entries(check.failures)
    .map(([why, count]) => `${n(count)} ${why === 'error' ? 'unanswered' : why}`)
    .join(', ');
  return (
    `webhooks ${check.stream}: ${n(check.events)} events sent (${n(check.dropped)} dropped, ${n(check.redelivered)} redelivered), ` +
    `${n(check.accepted)} accepted (${n(check.duplicateAnswers)} answered as duplicates), ${n(check.lost)} lost, ` +
    `${n(check.unknown)} unknown, ${n(check.doubled)} doubled, backlog ${n(check.backlog)}, ` +
    `drift repaired ${n(check.drift)} in ${n(check.reconciliations)} reconciliations; failed attempts: ${failed || 'none'}`
  );
}
