import { describe } from 'vitest';
import { describeChaos } from './chaos-suite.ts';

// One file per store, so vitest runs the two 60-second runs beside each other and beside other
// files (most of each run's time is spent waiting: on kills, child processes and the simulator).
describe('chaos on postgres', () => describeChaos('postgres'));
