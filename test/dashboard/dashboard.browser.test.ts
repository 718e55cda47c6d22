import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  type DashboardWorld,
  HOSTILE_NAME,
  launchChromium,
  startDashboardWorld,
  TOKEN,
} from './dashboard-world.ts';

/** Where the run's screenshots go (`npm run screenshots` writes the README's to docs/images/). */
const SHOTS = resolve(import.meta.dirname, '../../.test-output/dashboard');

interface StreamRow {
  stream: string;
  records: number;
  lastRun: { id: string; status: string } | null;
  state: string;
}

/**
 * The dashboard in Chromium against a real `syncline run` syncing the simulator: what a person sees
 * and does. Needs Debian's chromium (`apt-get install -y chromium`; .ci/run installs it).
 */
describe('the dashboard in Chromium', () => {
  let world: DashboardWorld;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium)`);
    }
    mkdirSync(SHOTS, { recursive: true });
    world = await startDashboardWorld();
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('dialog', (dialog) => {
      throw new Error(`a dialog opened: ${dialog.message()}`);
    });
    await until('every stream to have run once', async () => {
      const streams = await streamsNow();
      return streams.every((s) => s.lastRun !== null && s.lastRun.status !== 'running');
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    const code = await world?.stop();
    expect(code).toBe(0);
  }, 60_000);

  async function streamsNow(): Promise<StreamRow[]> {
    return (await (await world.api('/v1/streams')).json()) as StreamRow[];
  }

  async function until(what: string, done: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; the service said: ${world.stderr().slice(-2000)}`);
      await sleep(200);
    }
  }

  it('sends a browser without the token to the login form, and in once the token is given', async () => {
    await page.goto(`${world.url}/ui`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.getByLabel('API token').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the API token');
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${world.url}/ui`);
    await expect.poll(() => page.locator('#live').textContent(), { timeout: 10_000 }).toBe('live');
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  });

  it('lists every stream with the counts the store has', async () => {
    await page.goto(`${world.url}/ui`);
    const streams = await streamsNow();
    for (const s of streams) {
      const row = page.locator(`tr[data-stream="${s.stream}"]`);
      await expect.poll(() => row.count()).toBe(1);
      const shown = Number(((await row.locator('[data-records]').textContent()) ?? '').replace(/,/g, ''));
      // The live table may be a moment behind a stream that is syncing: the same or the next count.
      const after = (await streamsNow()).find((x) => x.stream === s.stream)!.records;
      expect([s.records, after]).toContain(shown);
    }
    const total = Number(
      ((await page.locator('[data-total="streams"]').textContent()) ?? '').replace(/,/g, ''),
    );
    expect(total).toBe(streams.length);
    // The dead letter of people shows in its row and the totals.
    await expect.poll(() => page.locator('[data-total="open dead letters"]').textContent()).toBe('1');
  });

  it('shows a sync started from the page as it happens, without reloading the page', async () => {
    await page.goto(`${world.url}/ui`);
    await page.evaluate('window.stillHere = true');
    const before = (await streamsNow()).find((s) => s.stream === 'people')!.lastRun!.id;
    await page.locator('tr[data-stream="people"]').getByRole('button', { name: /Sync/ }).click();
    await expect
      .poll(() => page.locator('#messages').textContent())
      .toMatch(/Sync of people (started|queued)/);
    await until('the triggered run to end', async () => {
      const run = (await streamsNow()).find((s) => s.stream === 'people')!.lastRun!;
      return run.id !== before && run.status !== 'running';
    });
    const row = page.locator('tr[data-stream="people"]');
    await expect.poll(async () => (await row.innerHTML()).includes('ago'), { timeout: 15_000 }).toBe(true);
    // The row's last run is the new one, pushed over the live feed into the same page.
    await expect
      .poll(async () => {
        const now = (await streamsNow()).find((s) => s.stream === 'people')!.lastRun!;
        const html = await row.innerHTML();
        return now.id !== before && html.includes('badge');
      })
      .toBe(true);
    expect(await page.evaluate('window.stillHere')).toBe(true);
  });

  it('renders a record full of HTML as text, and runs none of it', async () => {
    await page.goto(`${world.url}/ui/failed`);
    const title = await page.title();
    await expect.poll(() => page.content()).toContain('not-an-email');
    const body = await page.locator('main').innerText();
    expect(body).not.toContain('hunter2-secret');
    for (const details of await page.locator('main details').all()) await details.locator('summary').click();
    expect(await page.locator('main').innerText()).toContain("<script>document.title='pwned'</script>");
    expect(await page.locator('main script').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.title()).toBe(title);
    expect(HOSTILE_NAME).toContain('<script>');
  });

  it('replays a dead letter from the page', async () => {
    await page.goto(`${world.url}/ui/failed`);
    const row = page.locator('tr', { hasText: 'not-an-email' }).first();
    await row.getByRole('button', { name: /Replay/ }).click();
    await expect.poll(() => page.locator('#messages').textContent()).toMatch(/[Rr]eplay/);
    // The record is still invalid: the replay ran and the letter is open again, or resolved; the
    // replay is in the stream's runs either way.
    await until('the replay run', async () => {
      const runs = (await (await world.api('/v1/streams/people/runs?limit=10')).json()) as {
        mode: string;
        status: string;
      }[];
      return runs.some((r) => r.mode === 'replay' && r.status !== 'running');
    });
  });

  it('shows a paused backfill with its evidence, approves it from the page, and the stream goes on', async () => {
    world.rewriteItems(1);
    expect((await world.api('/v1/streams/items/reset', { method: 'POST' })).status).toBe(200);
    await until(
      'items to pause for approval',
      async () => (await streamsNow()).find((s) => s.stream === 'items')!.state === 'paused',
    );
    await page.goto(`${world.url}/ui`);
    await expect.poll(() => page.locator('tr[data-stream="items"]').innerText()).toMatch(/paused/);
    await page.goto(`${world.url}/ui/streams/items`);
    await expect.poll(() => page.locator('main').innerText()).toMatch(/backfill/i);
    await page.screenshot({ path: join(SHOTS, 'stream.png'), fullPage: true });
    await page.getByRole('button', { name: /Approve/ }).click();
    await expect.poll(() => page.locator('#messages').textContent()).toMatch(/approv/i);
    await until(
      'items to apply the rewrite',
      async () => {
        const runs = (await (await world.api('/v1/streams/items/runs?limit=5')).json()) as {
          status: string;
          counters: { updated: number };
        }[];
        return runs.some((r) => r.status === 'ok' && r.counters.updated > 0);
      },
      40_000,
    );
  });

  it('fits a phone-width screen and the dark theme', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    try {
      const cookies = await context.cookies();
      await phone.addCookies(cookies);
      const small = await phone.newPage();
      await small.goto(`${world.url}/ui`);
      const width = await small.evaluate<number>('document.documentElement.scrollWidth');
      expect(width).toBeLessThanOrEqual(390);
      const background = await small.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      expect(background).toBe('rgb(13, 17, 23)');
      await small.goto(`${world.url}/ui/failed`);
      await small.screenshot({ path: join(SHOTS, 'failed-phone-dark.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
