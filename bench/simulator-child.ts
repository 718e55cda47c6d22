/**
 * The API simulator in its own process, so serving pages never competes with the measured client
 * for one event loop. Prints `{"url": ...}` once it listens; stops on SIGTERM or when the parent
 * goes away. Background mutations are off: the bench changes the data only through the admin API.
 */
import { startSimulator } from '../src/simulator/index.ts';
import { childArgs, exitWithParent, reply } from './child-io.ts';

export interface SimulatorChildArgs {
  readonly customers: number;
  readonly seed: number;
}

export interface SimulatorChildResult {
  readonly url: string;
  /** Time to generate the dataset's sorted index and listen. */
  readonly startupMs: number;
}

exitWithParent();
const args = childArgs<SimulatorChildArgs>();
const started = performance.now();
const sim = await startSimulator({
  seed: args.seed,
  port: 0,
  datasets: { customers: args.customers },
  mutations: { ratePerSecond: 0 },
});
const result: SimulatorChildResult = { url: sim.url, startupMs: performance.now() - started };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.once('SIGTERM', () => {
  void sim.close().then(() => reply({ stopped: true }));
});
