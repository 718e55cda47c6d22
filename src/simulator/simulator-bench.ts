/**
 * Measures how fast one client can page through the simulator on loopback (faults off), with the
 * client in a child process so it does not steal the server's CPU:
 * `npx tsx src/simulator/simulator-bench.ts [records] [style: cursor|keyset] [seconds]`.
 * The simulator must serve at least 250 pages of 1,000 records per second.
 */
import { fork } from 'node:child_process';
import { request } from 'undici';
import { startSimulator } from './simulator-server.ts';

const [records = 1_000_000, seconds = 10] = [
  Number(process.argv[2] ?? 1_000_000),
  Number(process.argv[4] ?? 10),
];
const style = process.argv[3] ?? 'cursor';

interface Result {
  pages: number;
  records: number;
  bytes: number;
  elapsed: number;
}

async function client(base: string): Promise<Result> {
  let pages = 0;
  let total = 0;
  let bytes = 0;
  const first = `${base}/v1/customers?style=${style}&limit=1000`;
  let next = first;
  const begin = performance.now();
  while (performance.now() - begin < seconds * 1000) {
    const res = await request(next);
    const text = await res.body.text();
    bytes += text.length;
    pages++;
    // Like a fast client, read the continuation from the end of the body rather than parsing the
    // whole page: a JSON.parse of 320 KB costs the client more than the server spends on the page.
    const hasMore = text.endsWith('"has_more":true}') || text.includes('"has_more":true,"next_cursor"');
    total += hasMore ? 1000 : (text.match(/"id":/g)?.length ?? 0);
    if (!hasMore) next = first;
    else if (style === 'keyset') {
      const at = text.lastIndexOf('{"id":"');
      const id = text.slice(at + 7, text.indexOf('"', at + 7));
      const u = text.indexOf('"updated_at":"', at) + 14;
      next = `${first}&updated_since=${text.slice(u, text.indexOf('"', u))}&after_id=${id}`;
    } else {
      const c = text.lastIndexOf('"next_cursor":"') + 15;
      next = `${first}&cursor=${text.slice(c, text.indexOf('"', c))}`;
    }
  }
  return { pages, records: total, bytes, elapsed: (performance.now() - begin) / 1000 };
}

if (process.env.SIM_BENCH_CLIENT !== undefined) {
  const result = await client(process.env.SIM_BENCH_CLIENT);
  process.send?.(result);
} else {
  const started = performance.now();
  const sim = await startSimulator({ seed: 1, datasets: { customers: records } });
  const startupMs = performance.now() - started;
  const cpu = process.cpuUsage();
  const child = fork(new URL(import.meta.url), process.argv.slice(2), {
    env: { ...process.env, SIM_BENCH_CLIENT: sim.url },
  });
  const result = await new Promise<Result>((resolve) => child.once('message', (m) => resolve(m as Result)));
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  await sim.close();
  const mem = process.memoryUsage();
  console.log(
    `${records} customers (startup ${startupMs.toFixed(0)} ms), style=${style}: ` +
      `${(result.pages / result.elapsed).toFixed(0)} pages/s, ${(result.records / result.elapsed).toFixed(0)} records/s, ` +
      `${(result.bytes / result.elapsed / 1e6).toFixed(1)} MB/s; server CPU ${((cpuSeconds / result.pages) * 1000).toFixed(2)} ms/page ` +
      `(${(result.pages / cpuSeconds).toFixed(0)} pages per CPU-second); server heapUsed ${(mem.heapUsed / 1e6).toFixed(0)} MB, ` +
      `arrayBuffers ${(mem.arrayBuffers / 1e6).toFixed(0)} MB`,
  );
}
