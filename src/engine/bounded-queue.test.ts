import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.ts';

describe('BoundedQueue', () => {
  it('makes the producer wait while the queue is full', async () => {
    const queue = new BoundedQueue<number>(2);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        await queue.push(i);
        pushed++;
      }
      queue.close();
    })();
    await new Promise((r) => setTimeout(r, 10));
    expect(pushed).toBe(2);
    const seen: number[] = [];
    for await (const item of queue) {
      expect(queue.size).toBeLessThanOrEqual(2);
      seen.push(item);
    }
    await producer;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('delivers queued items before the failure', async () => {
    const queue = new BoundedQueue<number>(4);
    await queue.push(1);
    queue.fail(new Error('source broke'));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of queue) seen.push(item);
      })(),
    ).rejects.toThrow('source broke');
    expect(seen).toEqual([1]);
  });

  it('releases a blocked producer when drained', async () => {
    const queue = new BoundedQueue<number>(1);
    await queue.push(1);
    const blocked = queue.push(2);
    queue.drain();
    expect(await blocked).toBe(false);
  });
});
