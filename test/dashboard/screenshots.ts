/**
 * `npm run screenshots`: the README's pictures of the dashboard (docs/images/), taken in Chromium
 * of a real `syncline run` syncing the simulator: the overview, a stream's page and the dead letters
 * on a phone in the dark theme. Needs Debian's chromium (`apt-get install -y chromium`).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium, startDashboardWorld, TOKEN } from './dashboard-world.ts';

const OUT = resolve(import.meta.dirname, '../../docs/images');

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const world = await startDashboardWorld({ extraStreams: 9 });
  const browser = await launchChromium();
  try {
    // Every stream has run; items is paused by its backfill breaker, as the stream page shows.
    for (let i = 0; i < 150; i++) {
      const streams = (await (await world.api('/v1/streams')).json()) as { lastRun: unknown }[];
      if (streams.every((s) => s.lastRun !== null)) break;
      await sleep(200);
    }
    world.rewriteItems(1);
    await world.api('/v1/streams/items/reset', { method: 'POST' });
    for (let i = 0; i < 100; i++) {
      const streams = (await (await world.api('/v1/streams')).json()) as { stream: string; state: string }[];
      if (streams.find((s) => s.stream === 'items')?.state === 'paused') break;
      await sleep(200);
    }
    const desktop = await browser.newContext({
      viewport: { width: 1280, height: 820 },
      colorScheme: 'light',
    });
    const page = await desktop.newPage();
    await page.goto(`${world.url}/ui/login`);
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${world.url}/ui`);
    await page.locator('#live[data-state="live"]').waitFor();
    await page.screenshot({ path: join(OUT, 'dashboard-overview.png') });
    await page.goto(`${world.url}/ui/streams/items`);
    await sleep(500);
    await page.screenshot({ path: join(OUT, 'dashboard-stream.png') });
    const phone = await browser.newContext({ viewport: { width: 390, height: 760 }, colorScheme: 'dark' });
    await phone.addCookies(await desktop.cookies());
    const small = await phone.newPage();
    await small.goto(`${world.url}/ui/failed`);
    for (const details of await small.locator('main details').all()) await details.locator('summary').click();
    await small.screenshot({ path: join(OUT, 'dashboard-failed-phone.png') });
    process.stderr.write(`wrote ${OUT}/dashboard-{overview,stream,failed-phone}.png\n`);
  } finally {
    await browser.close();
    await world.stop();
  }
}

await main();
