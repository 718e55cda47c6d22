import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/runtime/open-store.ts';
import { collect, spawnCli, waitForOutput } from '../cli/cli-harness.ts';
import { type BrokerRig, debeziumEvent, openBrokerRig } from '../helpers/broker-rigs.ts';
import { seeded } from '../helpers/seeded-random.ts';
import { freshLocation } from '../helpers/stores.ts';

export interface BrokerChaosOptions {
  readonly seed: number;
  /** How long events are produced while `syncline sync` processes are killed. */
  readonly durationMs: number;
  /** Keys the producer changes. Default 1000. */
  readonly keys?: number;
  /** Events a second, about. Default 150. */
  readonly rate?: number;
  /** The store: `sqlite` (a temp file, the default) or `postgres` (a fresh schema). */
  readonly store?: 'sqlite' | 'postgres';
}

/** What one broker's stream ended with, against the producer's model. */
export interface BrokerChaosResult {
  readonly broker: 'nats' | 'redis';
  /** Change-log rows the killed processes committed before the final sync. */
  readonly appliedUnderKills: number;
  readonly events: number;
  readonly repeated: number;
  readonly tombstones: number;
  /** A key live in the model and absent or deleted in the store. */
  readonly missing: number;
  /** A key whose stored data is not the model's latest. */
  readonly stale: number;
  /** A key deleted in the model and live in the store. */
  readonly zombie: number;
  /** Change-log rows of one key and version beyond the first: an event applied twice. */
  readonly duplicated: number;
  readonly deadLetters: number;
  /** Delivered and never acknowledged, and never delivered, after the final sync. */
  readonly unacked: number;
  readonly undelivered: number;
}

export interface BrokerChaosSummary {
  readonly processes: number;
  readonly kills: number;
  readonly results: readonly BrokerChaosResult[];
}

const STREAMS = { nats: 'chaos_nats', redis: 'chaos_redis' } as const;
const MIN_KILLS = 4;

/**
 * Debezium change events produced into NATS JetStream and Redis Streams at once (the same events
 * to both): snapshot reads of every key, then creates, updates and deletes, each delete followed by
 * an empty message (a Kafka-style tombstone), and 5% of the time an earlier event of a key again
 * (a restarted Debezium's repeat, or an older event out of order). Meanwhile `syncline sync`
 * processes (the built CLI) read both streams and are SIGKILLed at seeded random moments (a few
 * are let finish); then production stops, one sync runs to the end, and each stream's table is
 * compared with the producer's model and the broker's consumer with nothing left.
 */
export async function runBrokerChaos(options: BrokerChaosOptions): Promise<BrokerChaosSummary> {
  const random = seeded(options.seed);
  const keys = options.keys ?? 1000;
  const rate = options.rate ?? 150;
  const rigs = { nats: await openBrokerRig('nats'), redis: await openBrokerRig('redis') };
  const dir = mkdtempSync(join(tmpdir(), 'syncline-broker-chaos-'));
  const { location: store, drop } = await freshLocation(options.store ?? 'sqlite');
  try {
    writeConfig(dir, rigs);
    /** The latest event of each key: its lsn, and the name it set (null: deleted). */
    const model = new Map<number, { lsn: number; name: string | null }>();
    const sent: { id: number; body: string }[] = [];
    let lsn = 1000;
    let repeated = 0;
    let tombstones = 0;
    const publish = async (bodies: (string | null)[]) => {
      await Promise.all([rigs.nats.publish(bodies), rigs.redis.publish(bodies)]);
    };
    // The snapshot: a read of every key.
    const snapshot: string[] = [];
    for (let id = 1; id <= keys; id++) {
      lsn += 1;
      const body = debeziumEvent('r', { id, name: `snap ${id}` }, lsn);
      model.set(id, { lsn, name: `snap ${id}` });
      sent.push({ id, body });
      snapshot.push(body);
    }
    await publish(snapshot);

    let producing = true;
    const producer = (async () => {
      const batch = Math.max(1, Math.round(rate / 20));
      while (producing) {
        const bodies: (string | null)[] = [];
        for (let i = 0; i < batch; i++) {
          if (random() < 0.05 && sent.length > 0) {
            bodies.push(sent[Math.floor(random() * sent.length)]!.body);
            repeated++;
            continue;
          }
          const id = 1 + Math.floor(random() * keys);
          const now = model.get(id)!;
          lsn += 1;
          let body: string;
          if (now.name === null) {
            const name = `made ${id} at ${lsn}`;
            body = debeziumEvent('c', { id, name }, lsn, { wrapped: random() < 0.3 });
            model.set(id, { lsn, name });
          } else if (random() < 0.12) {
            body = debeziumEvent('d', { id, name: now.name }, lsn);
            model.set(id, { lsn, name: null });
          } else {
            const name = `changed ${id} at ${lsn}`;
            body = debeziumEvent('u', { id, name }, lsn, { before: { id, name: now.name } });
            model.set(id, { lsn, name });
          }
          sent.push({ id, body });
          bodies.push(body);
          if (body.includes('"op":"d"')) {
            bodies.push(null);
            tombstones++;
          }
        }
        await publish(bodies);
        await sleep(50);
      }
    })();

    let processes = 0;
    let kills = 0;
    const until = Date.now() + options.durationMs;
    // At least MIN_KILLS kills however slowly processes start, within twice the duration.
    while (Date.now() < until || (kills < MIN_KILLS && Date.now() < until + options.durationMs)) {
      const child = spawnCli(['sync', '--store', store], dir);
      processes++;
      const done = collect(child);
      // Killed once it reads (however slow the start on a busy machine), at a random moment of its
      // pages and commits; a few are let finish.
      const reading = waitForOutput(child, 'broker stream reading', 30_000).then(
        () => true,
        () => false,
      );
      if (random() < 0.85 && (await Promise.race([reading, done.then(() => false)]))) {
        const wait = Math.floor(random() * 400);
        const finished = await Promise.race([done.then(() => true), sleep(wait).then(() => false)]);
        if (!finished) {
          child.kill('SIGKILL');
          kills++;
        }
      }
      const result = await done;
      if (result.signal === null && result.code !== 0) {
        throw new Error(`syncline sync exited ${result.code}: ${result.stderr.slice(-2000)}`);
      }
    }
    producing = false;
    await producer;
    const appliedUnderKills = await countChanges(store);

    const final = await collect(spawnCli(['sync', '--store', store], dir));
    processes++;
    if (final.code !== 0)
      throw new Error(`the final sync exited ${final.code}: ${final.stderr.slice(-2000)}`);

    const results: BrokerChaosResult[] = [];
    const opened = await openStore(store);
    try {
      for (const kind of ['nats', 'redis'] as const) {
        const stream = STREAMS[kind];
        const rows = new Map(
          (await opened.scanRecords(stream, { limit: keys * 2 })).map((r) => [Number(r.key), r]),
        );
        let missing = 0;
        let stale = 0;
        let zombie = 0;
        for (const [id, latest] of model) {
          const row = rows.get(id);
          if (latest.name === null) {
            if (row && row.deletedAt === null) zombie++;
          } else if (!row || row.deletedAt !== null) {
            missing++;
          } else if ((row.data as { name?: unknown }).name !== latest.name) {
            stale++;
          }
        }
        const seen = new Set<string>();
        let duplicated = 0;
        for (let after = 0; ; ) {
          const changes = await opened.readChanges({ afterSeq: after, limit: 5000, stream });
          if (changes.length === 0) break;
          for (const change of changes) {
            const id = `${change.key}@${change.version}`;
            if (seen.has(id)) duplicated++;
            seen.add(id);
          }
          after = changes.at(-1)!.seq;
        }
        const deadLetters = (await opened.listDeadLetters({ stream, limit: 1000 })).length;
        const backlog = await rigs[kind].backlog(consumerOf(kind));
        results.push({
          broker: kind,
          appliedUnderKills: appliedUnderKills[kind],
          events: sent.length + repeated,
          repeated,
          tombstones,
          missing,
          stale,
          zombie,
          duplicated,
          deadLetters,
          unacked: backlog.unacked,
          undelivered: backlog.undelivered,
        });
      }
    } finally {
      await opened.close();
    }
    return { processes, kills, results };
  } finally {
    await rigs.nats.dispose();
    await rigs.redis.dispose();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Change-log rows of each stream so far. */
async function countChanges(location: string): Promise<Record<'nats' | 'redis', number>> {
  const store = await openStore(location);
  try {
    const count = async (stream: string) => {
      let rows = 0;
      for (let after = 0; ; ) {
        const changes = await store.readChanges({ afterSeq: after, limit: 5000, stream });
        if (changes.length === 0) return rows;
        rows += changes.length;
        after = changes.at(-1)!.seq;
      }
    };
    return { nats: await count(STREAMS.nats), redis: await count(STREAMS.redis) };
  } finally {
    await store.close();
  }
}

function consumerOf(kind: 'nats' | 'redis'): string {
  return `syncline_${STREAMS[kind]}`;
}

/** A YAML config of one broker stream each, reading the rigs' stream and key. */
function writeConfig(dir: string, rigs: { nats: BrokerRig; redis: BrokerRig }): void {
  const lines = ['streams:'];
  for (const kind of ['nats', 'redis'] as const) {
    lines.push(
      `  - name: ${STREAMS[kind]}`,
      '    type: broker',
      '    key: id',
      '    format: debezium',
      '    pageSize: 100',
      '    idle: 300ms',
      `    broker: ${JSON.stringify(rigs[kind].config(consumerOf(kind)))}`,
    );
  }
  writeFileSync(join(dir, 'syncline.config.yaml'), `${lines.join('\n')}\n`);
}

/** One line per broker: `nats: 2,912 events (140 repeated, 52 tombstones), 0 missing, ...`. */
export function describeBrokerChaos(summary: BrokerChaosSummary): string {
  const lines = [`${summary.processes} sync processes, ${summary.kills} SIGKILLed`];
  for (const r of summary.results) {
    lines.push(
      `${r.broker}: ${r.events.toLocaleString('en')} events (${r.repeated} repeated, ${r.tombstones} tombstones), ` +
        `${r.appliedUnderKills.toLocaleString('en')} changes applied under kills, ` +
        `${r.missing} missing, ${r.stale} stale, ${r.zombie} zombie, ${r.duplicated} duplicated, ` +
        `${r.deadLetters} dead letters, ${r.unacked} unacknowledged, ${r.undelivered} undelivered`,
    );
  }
  return lines.join('\n');
}
