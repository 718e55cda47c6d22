import { describe, expect, it } from 'vitest';
import { describeBrokerChaos, runBrokerChaos } from './chaos-brokers.ts';

// About 20 s: Debezium events into NATS JetStream and Redis Streams while `syncline sync`
// processes (the built CLI: `npm run build` first) are SIGKILLed at seeded moments.
describe('broker streams under kills', () => {
  it('end with each table equal to the producer, nothing applied twice, nothing left in the brokers', async () => {
    const summary = await runBrokerChaos({ seed: 7, durationMs: 15_000 });
    console.log(describeBrokerChaos(summary));
    expect(summary.kills).toBeGreaterThanOrEqual(3);
    for (const result of summary.results) {
      expect(result.events).toBeGreaterThan(1000);
      expect(result.repeated).toBeGreaterThan(0);
      expect(result.appliedUnderKills).toBeGreaterThan(0);
      expect(result).toMatchObject({
        missing: 0,
        stale: 0,
        zombie: 0,
        duplicated: 0,
        deadLetters: 0,
        unacked: 0,
        undelivered: 0,
      });
    }
  }, 90_000);
});
