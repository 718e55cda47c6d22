import { describe, expect, it } from 'vitest';
import { SingleFlight } from './single-flight.ts';

const never = new AbortController().signal;

describe('SingleFlight', () => {
  it('runs one task for every caller that arrives while it runs, then a new one', async () => {
    const flight = new SingleFlight<number>();
    let runs = 0;
    const task = async (): Promise<number> => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return runs;
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => flight.run(never, task)));
    expect(results).toEqual(Array(10).fill(1));
    expect(flight.active).toBe(false);
    expect(await flight.run(never, task)).toBe(2);
  });

  it('gives every waiter the task error', async () => {
    const flight = new SingleFlight<number>();
    const task = async (): Promise<number> => {
      throw new Error('boom');
    };
    const results = await Promise.allSettled([flight.run(never, task), flight.run(never, task)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('aborts the task only when every waiter has left, and starts afresh after', async () => {
    const flight = new SingleFlight<string>();
    let taskSignal: AbortSignal | undefined;
    const task = (signal: AbortSignal): Promise<string> => {
      taskSignal = signal;
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    };
    const a = new AbortController();
    const b = new AbortController();
    const first = flight.run(a.signal, task);
    const second = flight.run(b.signal, task);
    a.abort(new Error('a left'));
    await expect(first).rejects.toThrow('a left');
    expect(taskSignal?.aborted).toBe(false);
    b.abort(new Error('b left'));
    await expect(second).rejects.toThrow('b left');
    expect(taskSignal?.aborted).toBe(true);
    expect(flight.active).toBe(false);
    expect(await flight.run(never, async () => 'fresh')).toBe('fresh');
  });
});
