import { describe, expect, it } from 'vitest';
import { drawBarChart, renderBarChart } from '../../bench/png-chart.ts';
import { encodePng, RgbImage } from '../../bench/png-encode.ts';
import { PNG_SIGNATURE, readPng } from './png-check.ts';

const BARS = [
  { label: 'raw fetch + JSON.parse', value: 160_000, kind: 'limit' },
  { label: 'hand-written, PostgreSQL', value: 4_000, kind: 'baseline' },
  { label: 'Syncline, SQLite', value: 0, kind: 'syncline' },
] as const;

describe('PNG encoder', () => {
  it('writes a signature, IHDR with the size, and IDAT that inflates to rows of filter byte + RGB', () => {
    const image = new RgbImage(7, 3, [255, 255, 255]);
    image.fillRect(1, 1, 2, 1, [255, 0, 0]);
    const png = encodePng(image);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const facts = readPng(png);
    expect(facts).toMatchObject({ width: 7, height: 3, bitDepth: 8, colorType: 2 });
    expect(facts.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(facts.inflatedLength).toBe(7 * 3 * 3 + 3);
  });

  it('clips rectangles to the image', () => {
    const image = new RgbImage(4, 4, [0, 0, 0]);
    image.fillRect(-10, 2, 100, 100, [1, 2, 3]);
    expect([...image.pixels.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect([...image.pixels.subarray(4 * 4 * 3 - 3)]).toEqual([1, 2, 3]);
  });
});

describe('bar chart', () => {
  it('renders a valid PNG of the drawn size, with ink on the canvas', () => {
    const image = drawBarChart('Records per second', BARS);
    const facts = readPng(renderBarChart('Records per second', BARS));
    expect(facts.width).toBe(image.width);
    expect(facts.height).toBe(image.height);
    expect(facts.inflatedLength).toBe(image.width * image.height * 3 + image.height);
    const dark = image.pixels.filter((v, i) => i % 3 === 0 && v < 100).length;
    expect(dark).toBeGreaterThan(100);
  });

  it('grows wider for long labels instead of cutting them', () => {
    const long = drawBarChart('t', [{ label: 'x'.repeat(120), value: 1, kind: 'limit' }]);
    expect(long.width).toBeGreaterThan(120 * 12);
  });
});
