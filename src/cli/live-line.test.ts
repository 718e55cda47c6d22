import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SyncEvents } from '../core/events.ts';
import { type LiveLineState, liveLine, retryNote, waitNote } from './live-line.ts';
import { TerminalStyle } from './terminal-style.ts';

const plain = new TerminalStyle(false);
const running: LiveLineState = {
  stream: 'customers',
  totals: { pages: 12, fetched: 1200, inserted: 1000, updated: 150, unchanged: 50, deleted: 0, failed: 0 },
  elapsedMs: 3000,
  expected: null,
  note: null,
  status: null,
};

const retrying: SyncEvents['request:retrying'] = {
  stream: 'customers',
  runId: 'r',
  what: 'GET https://api.example.com/v1/customers?limit=100',
  attempt: 2,
  maxAttempts: 8,
  delayMs: 1300,
  reason: '503 from api.example.com',
  retryAfter: false,
  throttled: false,
};

describe('liveLine', () => {
  it('shows pages, records, rate and what changed, each with its symbol', () => {
    expect(liveLine(running, plain)).toBe(
      'customers        | 12 pages | 1,200 records | 400/s | +1,000 ~150 =50 -0 !0',
    );
  });

  it('shows the expected total and an ETA when the source said how many', () => {
    expect(liveLine({ ...running, expected: 5000 }, plain)).toBe(
      'customers        | 12 pages | 1,200/5,000 records | 400/s | ETA 9.5 s | +1,000 ~150 =50 -0 !0',
    );
    // Past the estimate: no ETA.
    expect(liveLine({ ...running, expected: 1000 }, plain)).not.toContain('ETA');
  });

  it('ends with the retry or wait in progress, and with the status once finished', () => {
    expect(liveLine({ ...running, note: retryNote(retrying) }, plain)).toMatch(
      /!0 {2}retry 2 of 7 in 1\.3 s: 503 from api\.example\.com$/,
    );
    expect(liveLine({ ...running, status: 'ok', note: 'stale' }, plain)).toMatch(/!0 {2}ok$/);
  });

  it('colours the note, failures and the status, and mutes the separators', () => {
    const style = new TerminalStyle(true);
    const failing = { ...running, totals: { ...running.totals, failed: 3 }, note: 'waiting 12 s: x' };
    const line = liveLine(failing, style);
    expect(line).toContain('\u001b[33mwaiting 12 s: x\u001b[39m');
    expect(line).toContain('\u001b[31m!3\u001b[39m');
    expect(line).toContain('\u001b[2m|\u001b[22m');
    expect(stripVTControlCharacters(line)).toBe(liveLine(failing, plain));
    expect(liveLine({ ...running, status: 'failed' }, style).endsWith('  \u001b[31mfailed\u001b[39m')).toBe(
      true,
    );
  });
});

describe('retryNote and waitNote', () => {
  it('say a wait the API asked for, a retry with its number, and a rate-limit wait', () => {
    expect(
      retryNote({ ...retrying, delayMs: 12_000, reason: '429 from api.example.com', retryAfter: true }),
    ).toBe('waiting 12 s: 429 from api.example.com, Retry-After');
    expect(retryNote(retrying)).toBe('retry 2 of 7 in 1.3 s: 503 from api.example.com');
    expect(
      waitNote({
        stream: 's',
        runId: 'r',
        what: 'GET /x',
        limiter: 'api.example.com',
        delayMs: 200,
        cause: 'rate',
        reason: 'the rate limit of api.example.com (5 requests/s)',
      }),
    ).toBe('waiting 200 ms: the rate limit of api.example.com (5 requests/s)');
  });
});
