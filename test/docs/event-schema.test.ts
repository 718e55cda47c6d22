import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SynclineConfig } from '../../src/config/define-config.ts';
import { feedEvent } from '../../src/core/feed-change.ts';
import { defineStream } from '../../src/core/stream-definition.ts';
import { sync } from '../../src/runtime/sync.ts';
import { makeTestStore, type TestStore } from '../helpers/stores.ts';
import { arraySource, type TestRecord, testRecord } from '../helpers/test-sources.ts';

/** docs/event.schema.json describes the events sinks deliver: checked against real ones. */
const schema = z.fromJSONSchema(
  JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/event.schema.json'), 'utf8')),
);

describe('docs/event.schema.json', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await makeTestStore('sqlite');
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('accepts every event of a real change log (inserts, updates, deletes, runs; with and without data)', async () => {
    const stream = (records: TestRecord[]): SynclineConfig => ({
      // A sink asking for run events: each run that changes something leaves one in the log.
      sinks: [
        {
          name: 'all',
          type: 'redis',
          url: 'redis://127.0.0.1:6379',
          kinds: ['insert', 'update', 'delete', 'run'],
        },
      ],
      streams: [
        defineStream<TestRecord>({
          name: 'items',
          key: 'id',
          version: 'version',
          deleted: 'deleted',
          source: arraySource(records),
        }),
      ],
    });
    await sync(stream([testRecord(1), testRecord(2)]), { store: t.location });
    await t.store.resetCheckpoint('items', new Date().toISOString());
    await sync(stream([testRecord(1, 1), { ...testRecord(2, 1), deleted: true }]), { store: t.location });
    const events = (await t.store.readEvents({ afterSeq: 0, limit: 100, withData: true })).map(feedEvent);
    expect(events.map((e) => e?.kind)).toEqual(['insert', 'insert', 'run', 'update', 'delete', 'run']);
    for (const event of events) {
      if (event === null) throw new Error('a run row without its run');
      const roundTripped = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
      expect(schema.safeParse(roundTripped).error).toBeUndefined();
      const { data: _data, ...withoutData } = roundTripped;
      expect(schema.safeParse(withoutData).error).toBeUndefined();
    }
    expect(schema.safeParse({ ...events[0], kind: 'upsert' }).success).toBe(false);
    expect(schema.safeParse({ ...events[2], kind: 'insert' }).success).toBe(false);
    expect(schema.safeParse({ ...events[2], status: 'running' }).success).toBe(false);
    expect(schema.safeParse({ ...events[0], id: 'items' }).success).toBe(false);
  });
});
