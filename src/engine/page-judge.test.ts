import { describe, expect, it } from 'vitest';
import { FatalError } from '../core/errors.ts';
import type { AnyStreamDefinition } from '../core/stream-definition.ts';
import type { Logger } from '../core/types.ts';
import { PageJudge } from './page-judge.ts';
import type { PreparedPage } from './page-preparer.ts';

const stream: AnyStreamDefinition = { name: 'people', key: 'id', cursor: 'updated_at', async *source() {} };

function page(over: Partial<PreparedPage>): PreparedPage {
  return {
    records: [],
    tombstones: [],
    deadLetters: [],
    fetched: 0,
    checkpoint: null,
    newestCursor: null,
    withoutCursor: 0,
    replayed: [],
    ...over,
  };
}

const failed = (n: number) =>
  page({
    fetched: n,
    deadLetters: Array.from({ length: n }, (_, i) => ({
      key: null,
      reason: 'key field "uid" is missing',
      payload: `${i}`,
    })),
  });
const record = { key: 'k', data: '{}', hash: 'h', version: null, cursor: null, deleted: false };

function judge(judgesFailures: boolean) {
  const warned: string[] = [];
  const log: Logger = { debug() {}, info() {}, warn: (_o, msg) => void warned.push(String(msg)), error() {} };
  return { judge: new PageJudge({ stream, log, judgesFailures }), warned };
}

describe('PageJudge', () => {
  it('stops a run at a page whose every record failed the same way, when its mode is judged', () => {
    expect(() => judge(true).judge.judge(failed(3))).toThrow(FatalError);
    expect(() => judge(true).judge.judge(failed(3))).toThrow(
      /every record of a page \(3\) failed, the same way: key field "uid" is missing/,
    );
    // A refresh or a replay reads known records: their failures are the records'.
    expect(() => judge(false).judge.judge(failed(3))).not.toThrow();
    // One bad record is just a bad record.
    expect(() => judge(true).judge.judge(failed(1))).not.toThrow();
  });

  it('warns once when a page lacks the cursor everywhere, and reports it only when no record had one', () => {
    const { judge: j, warned } = judge(true);
    j.judge(page({ records: [record, record], fetched: 2, withoutCursor: 2 }));
    j.judge(page({ records: [record], fetched: 1, withoutCursor: 1 }));
    expect(warned).toHaveLength(1);
    expect(j.warnings()).toEqual([
      'cursor field "updated_at" is missing from every record read (3): incremental reads cannot move past ' +
        'them, so each run reads them all again; check `cursor`',
    ]);
    j.judge(page({ records: [record], fetched: 1, withoutCursor: 0 }));
    expect(j.warnings()).toEqual([]);
  });
});
