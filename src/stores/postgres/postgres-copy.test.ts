import { describe, expect, it } from 'vitest';
import { copyField, copyText } from './postgres-copy.mjs';

describe('COPY text format', () => {
  it('escapes backslash, tab, newline and carriage return, and nothing else', () => {
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField(`"quoted" 'single' ünï ✓ 🚀`)).toBe(`"quoted" 'single' ünï ✓ 🚀`);
  });

  it('writes NULL as \\N, distinct from the text "\\N"', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
  });

  it('joins fields with tabs and ends every row with a newline', () => {
    expect(
      copyText([
        ['a', null],
        ['b\tc', 'd'],
      ]),
    ).toBe('a\t\\N\nb\\tc\td\n');
  });
});
