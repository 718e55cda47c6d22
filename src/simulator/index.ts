/**
 * The misbehaving API simulator: a loopback HTTP server that behaves like a difficult SaaS API,
 * reproducible from a seed. Used by tests, the chaos harness, benchmarks and the demo. It knows
 * nothing of the engine. See docs/simulator.md.
 */
export {
  CANDLE_FEED_PATH,
  DEFAULT_WS_FEED,
  MAX_AGE_CLOSE_CODE,
  MAX_AGE_CLOSE_REASON,
  type WsFeedConfig,
  type WsFeedPatch,
  type WsFeedStats,
} from './candle-feed.ts';
export type { CandleOptions } from './candle-kind.ts';
export {
  CRM_REQUEST_LOG_SIZE,
  Crm,
  type CrmContact,
  type CrmFaultKind,
  type CrmRequestLogEntry,
  type CrmStats,
} from './crm.ts';
export {
  CRM_FAULTS_OFF,
  type CrmConfig,
  type CrmFailNext,
  type CrmFaults,
  type CrmPatch,
  DEFAULT_CRM,
} from './crm-options.ts';
export type { GroundTruthEntry, Tombstone } from './dataset.ts';
export { FAULT_KINDS, type FaultKind } from './fault-injector.ts';
export { LIST_STYLES, type ListStyle } from './list-handler.ts';
export type { MutationCounts } from './mutation-engine.ts';
export { CrmRequestError, SimulatorConfigError, SimulatorRequestError } from './simulator-errors.ts';
export {
  type AuthOptions,
  type DatasetSizes,
  DEFAULT_FAULTS,
  DEFAULT_MUTATIONS,
  type FaultConfig,
  type FaultPatch,
  type MutationConfig,
  type MutationKind,
  type MutationMix,
  type MutationPatch,
  type SimulatorOptions,
} from './simulator-options.ts';
export {
  type GroundTruth,
  SimulatorServer,
  type SimulatorStats,
  startSimulator,
} from './simulator-server.ts';
