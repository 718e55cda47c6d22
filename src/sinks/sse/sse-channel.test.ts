import { describe, expect, it } from 'vitest';
import type { ChangeLogBounds } from '../../core/store.ts';
import { SILENT_LOGGER } from '../../core/types.ts';
import { createSseChannel, SseRefused } from './sse-channel.ts';

describe('the sse channel closing', () => {
  it('refuses a client whose open was still reading the bounds when the channel closed, instead of serving it for good', async () => {
    let bounds!: (b: ChangeLogBounds) => void;
    const channel = createSseChannel({
      name: 'events',
      streams: [],
      kinds: [],
      data: false,
      heartbeatMs: 5000,
      maxBuffered: 1000,
      maxClients: 10,
      knownStreams: ['a'],
      feed: {
        changeLogBounds: () =>
          new Promise<ChangeLogBounds>((resolve) => {
            bounds = resolve;
          }),
        readEvents: async () => [],
      },
      log: SILENT_LOGGER,
      pollMs: 20,
    });
    const opening = channel.open({ since: '0' });
    await new Promise((r) => setImmediate(r));
    channel.close(); // SIGTERM while the client connects
    bounds({ oldestSeq: null, newestSeq: null, highestSeq: 0 });
    await expect(opening).rejects.toBeInstanceOf(SseRefused);
    await expect(opening).rejects.toMatchObject({ status: 503 });
    expect(channel.clients()).toBe(0);
  });
});
