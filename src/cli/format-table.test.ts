import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatTable } from './format-table.ts';
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
