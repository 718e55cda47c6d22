import { describe, expect, it } from 'vitest';
import { CopyBuffer, copyField, copyText } from './postgres-copy.mjs';

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

  it('writes a payload into one reused buffer, growing it when a payload does not fit', () => {
    const buffer = new CopyBuffer(8);
    buffer.field('a\tb');
    buffer.raw('\t');
    buffer.field(null);
    buffer.raw('\t');
    buffer.field('ünï ✓ 🚀'.repeat(5));
    buffer.raw('\n');
    const expected = copyText([['a\tb', null, 'ünï ✓ 🚀'.repeat(5)]]);
    expect(buffer.payload().toString('utf8')).toBe(expected);
    buffer.reset();
    buffer.field('x');
    expect(buffer.payload().toString('utf8')).toBe('x');
  });

  it('keeps a buffer that grew past its limit only until the next payload', () => {
    const buffer = new CopyBuffer(16, 64);
    buffer.field('y'.repeat(200));
    const grown = buffer.payload().buffer.byteLength;
    expect(grown).toBeGreaterThan(64);
    buffer.reset();
    buffer.field('z');
    expect(buffer.payload().toString('utf8')).toBe('z');
    expect(buffer.payload().buffer.byteLength).toBe(16);
  });
});
