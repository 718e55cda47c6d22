import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.ts';
import { int } from './format.ts';
import { encodePng, type Rgb, RgbImage } from './png-encode.ts';

/**
 * The bench's chart: one horizontal bar per measurement (records/s), labels on the left, the
 * value at the end of each bar, colours by kind. Drawn with the 5x7 font at 2x and written as PNG.
 */

export type BarKind = 'limit' | 'baseline' | 'syncline';

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly kind: BarKind;
}

const SCALE = 2;
const PAD = 20;
const TEXT_H = GLYPH_HEIGHT * SCALE;
const BAR_H = 24;
const ROW_H = BAR_H + 14;
const MIN_WIDTH = 960;
const MIN_BAR_SPACE = 300;

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [33, 37, 41];
const GRID: Rgb = [225, 228, 232];
const COLORS: Record<BarKind, Rgb> = {
  limit: [150, 155, 160],
  baseline: [221, 110, 50],
  syncline: [36, 99, 196],
};
const LEGEND: Record<BarKind, string> = { limit: 'limit', baseline: 'hand-written', syncline: 'syncline' };

/** The chart as an RGB raster (exposed for tests of the layout). */
export function drawBarChart(title: string, bars: readonly Bar[]): RgbImage {
  const labelW = Math.max(0, ...bars.map((b) => textWidth(b.label, SCALE)));
  const valueW = Math.max(0, ...bars.map((b) => textWidth(int(b.value), SCALE)));
  const width = Math.max(
    MIN_WIDTH,
    PAD + labelW + 16 + MIN_BAR_SPACE + 12 + valueW + PAD,
    textWidth(title, SCALE) + 2 * PAD,
  );
  const top = PAD + TEXT_H + 20;
  const legendY = top + bars.length * ROW_H + 8;
  const height = legendY + TEXT_H + PAD;
  const image = new RgbImage(width, height, BACKGROUND);
  drawText(image, title, PAD, PAD, SCALE, INK);

  const barX = PAD + labelW + 16;
  const barSpace = width - PAD - valueW - 12 - barX;
  const max = Math.max(0, ...bars.map((b) => b.value));
  image.fillRect(barX - 1, top - 6, 1, bars.length * ROW_H, GRID);
  bars.forEach((bar, i) => {
    const y = top + i * ROW_H;
    const textY = y + (BAR_H - TEXT_H) / 2;
    drawText(image, bar.label, PAD + labelW - textWidth(bar.label, SCALE), textY, SCALE, INK);
    const w = max > 0 ? Math.max(1, Math.round((bar.value / max) * barSpace)) : 0;
    image.fillRect(barX, y, w, BAR_H, COLORS[bar.kind]);
    drawText(image, int(bar.value), barX + w + 12, textY, SCALE, INK);
  });

  let x = barX;
  for (const kind of Object.keys(LEGEND) as BarKind[]) {
    image.fillRect(x, legendY, TEXT_H, TEXT_H, COLORS[kind]);
    drawText(image, LEGEND[kind], x + TEXT_H + 8, legendY, SCALE, INK);
    x += TEXT_H + 8 + textWidth(LEGEND[kind], SCALE) + 28;
  }
  return image;
}

/** The chart as PNG bytes. */
export function renderBarChart(title: string, bars: readonly Bar[]): Buffer {
  return encodePng(drawBarChart(title, bars));
}
