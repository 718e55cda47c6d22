import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNC_NODE_OPTIONS } from './heap-tuning.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the Node options of a sync process', () => {
  it('are on the CLI launcher line and in the npm scripts that start it', () => {
    const launcher = readFileSync(resolve(ROOT, 'bin/syncline.mjs'), 'utf8').split('\n')[0]!;
    expect(launcher.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    const scripts = (
      JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts;
    const starters = Object.values(scripts).filter((s) => s.includes('bin/syncline.mjs'));
    expect(starters.length).toBeGreaterThan(0);
    for (const line of [launcher, ...starters]) {
      for (const option of SYNC_NODE_OPTIONS) expect(line).toContain(option);
    }
  });
});
