import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config/load-config.ts';
import { SILENT_LOGGER } from '../core/types.ts';
import { prepareSinks, selectSinks } from './sinks.ts';

async function* source() {}

const config = (sinks: unknown[]) =>
  resolveConfig({ streams: [{ name: 'people', key: 'id', source }], sinks } as never, 'syncline.config.ts');
const sse = { name: 'events', type: 'sse' };
const redis = { name: 'cache', type: 'redis', url: 'redis://127.0.0.1:6379' };

describe('the sinks a runner delivers to', () => {
  it('leaves the sse sink out: syncline run serves it, no runner and no offset', async () => {
    expect(selectSinks(config([sse, redis]), []).map((s) => s.name)).toEqual(['cache']);
    expect(() => selectSinks(config([sse, redis]), ['events'])).toThrow(
      'sink "events" is an sse sink: `syncline run` serves it at GET /v1/events; `sinks run` has nothing to deliver for it',
    );
    expect(() => selectSinks(config([sse]), [])).toThrow(
      'syncline.config.ts: defines no sinks that `sinks run` delivers to: the sse sink is served by `syncline run` (GET /v1/events)',
    );
    const prepared = await prepareSinks({ sinks: config([sse]).sinks, log: SILENT_LOGGER });
    const running = prepared.start({} as never);
    expect(running.status()).toEqual([]);
    await running.stop();
  });
});
