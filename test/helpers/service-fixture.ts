import { z } from 'zod';
import { type ResolvedConfig, resolveConfig } from '../../src/config/load-config.ts';
import { newHolderId } from '../../src/core/clock.ts';
import { SyncEventBus } from '../../src/core/events.ts';
import type { Page, SourceArgs } from '../../src/core/source.ts';
import type { Store } from '../../src/core/store.ts';
import type { AnyStreamDefinition } from '../../src/core/stream-definition.ts';
import type { Logger, RunRecord } from '../../src/core/types.ts';
import { SILENT_LOGGER } from '../../src/core/types.ts';
import { runStream } from '../../src/engine/stream-runner.ts';

export const silent: Logger = SILENT_LOGGER;

interface Person {
  id: number;
  email: string;
  updated_at: string;
}

/** People whose `updated_at` is a time (so lag reads), one of them with a bad email (a dead letter). */
export const people = {
  records: [
    { id: 1, email: 'p1@example.com', updated_at: '2026-01-01T00:00:01.000Z' },
    { id: 2, email: 'not an email', updated_at: '2026-01-01T00:00:02.000Z' },
    { id: 3, email: 'p3@example.com', updated_at: '2026-01-01T00:00:03.000Z' },
  ] as Person[],
};

function incremental(data: { records: Person[] }) {
  return async function* (args: SourceArgs): AsyncGenerator<Page<Person>> {
    const since = (args.checkpoint as { since?: string } | null)?.since ?? '';
    const rows = data.records.filter((r) => r.updated_at > since);
    if (rows.length > 0) yield { records: rows, checkpoint: { since: rows.at(-1)!.updated_at } };
  };
}

const Strict = z.object({ id: z.number(), email: z.email(), updated_at: z.string() });

/** `people` (synced by `syncPeople`) and `orders` (in the config, never run). */
export function serviceStreams(
  data = people,
  over: Partial<AnyStreamDefinition> = {},
): AnyStreamDefinition[] {
  return [
    { name: 'people', key: 'id', cursor: 'updated_at', schema: Strict, source: incremental(data), ...over },
    { name: 'orders', key: 'id', source: async function* () {} },
  ];
}

export function serviceConfig(): ResolvedConfig {
  return resolveConfig({ streams: serviceStreams() });
}

/** One real run of `people` into `store`, through the engine. */
export async function syncPeople(
  store: Store,
  data = people,
  over: Partial<AnyStreamDefinition> = {},
): Promise<RunRecord> {
  await runStream({
    store,
    stream: serviceStreams(data, over)[0]!,
    holder: newHolderId(),
    events: new SyncEventBus(),
    log: silent,
    options: { request: { mode: 'sync' } },
  });
  return (await store.listRuns({ stream: 'people', limit: 1 }))[0]!;
}
