import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, formatDuration, formatTable } from './format-table.ts';
import { TerminalStyle } from './terminal-style.ts';

describe('formatTable', () => {
  it('aligns coloured cells by the characters shown, not their colour codes', () => {
    const style = new TerminalStyle(true);
    const table = formatTable(
      ['STREAM', 'STATUS', 'N'],
      [
        ['a', style.ok('ok'), '1'],
        ['b', style.bad('failed'), '2'],
      ],
    );
    const plain = stripVTControlCharacters(table);
    expect(plain.split('\n')).toEqual(['STREAM  STATUS  N', 'a       ok      1', 'b       failed  2']);
    expect(table).toContain('\u001b[32mok\u001b[39m');
  });
});

describe('formatDuration', () => {
  it('says a duration in its largest sensible unit, with the next one while the first is small', () => {
    const s = 1000;
    const min = 60 * s;
    const h = 60 * min;
    const d = 24 * h;
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(1_349)).toBe('1.3 s');
    expect(formatDuration(45 * s + 900)).toBe('45 s');
    expect(formatDuration(4 * min + 5 * s)).toBe('4 min 5 s');
    expect(formatDuration(4 * min)).toBe('4 min');
    expect(formatDuration(12 * min + 34 * s)).toBe('12 min');
    expect(formatDuration(2 * h + 10 * min)).toBe('2 h 10 min');
    expect(formatDuration(15 * h + 59 * min)).toBe('15 h');
    expect(formatDuration(3 * d + 4 * h + 5 * min)).toBe('3 d 4 h');
    expect(formatDuration(12 * d + 4 * h)).toBe('12 d');
  });
});

describe('formatCheckpoint', () => {
  it("describes an HTTP stream's checkpoint and cuts any other JSON short", () => {
    expect(
      formatCheckpoint({
        v: 1,
        position: null,
        watermark: { cursor: '2026-03-01T12:00:00Z', id: 'cus_123' },
        validators: { url: 'https://api.example.com/v1/customers?limit=100', etag: '"abc"' },
      }),
    ).toBe('watermark 2026-03-01T12:00:00Z / cus_123');
    expect(formatCheckpoint({ after: 300 })).toBe('{"after":300}');
    expect(formatCheckpoint({ note: 'x'.repeat(60) })).toBe(`{"note":"${'x'.repeat(30)}…`);
    expect(formatCheckpoint(null)).toBe('-');
  });

  it('names the inbox position of a webhook stream and the REST part of a WebSocket stream', () => {
    expect(formatCheckpoint({ inbox: 1042 })).toBe('inbox #1042');
    expect(
      formatCheckpoint({
        poll: {
          v: 1,
          position: null,
          watermark: { cursor: '2026-03-01T12:00:00Z', id: 'c1' },
          validators: null,
        },
      }),
    ).toBe('REST watermark 2026-03-01T12:00:00Z / c1');
    expect(formatCheckpoint({ poll: null })).toBe('REST not read yet');
  });
});
