import type {
  AcquireLease,
  ActionLog,
  AddSinkDeadLetters,
  ChangeFeed,
  ChangeLogBounds,
  CheckpointSlot,
  CompleteScan,
  ConfirmDestinationWrites,
  ConsumerOffset,
  DeadLetterStore,
  DestinationMapping,
  DestinationMapStore,
  FinishRun,
  IgnoreDeadLetters,
  InboxEvent,
  InboxStore,
  LeaseStore,
  ListActions,
  ListDeadLetters,
  ListRuns,
  OpenDeadLetters,
  OpenSinkDeadLetters,
  OperatorAction,
  PruneChanges,
  ReadChanges,
  RecordedAction,
  RecordVersion,
  RedeliveredSinkDeadLetters,
  RunLog,
  ScanStore,
  StartRun,
  StoreDestinationMappings,
  StoredInboxEvent,
  StoreInspector,
  StreamStateStore,
} from '../core/store.ts';
import type {
  ChangeRow,
  Lease,
  LeaseConflict,
  LogRow,
  RunRecord,
  StoredDeadLetter,
  StoredRecord,
  StreamState,
  StreamStatus,
} from '../core/types.ts';

/** The modules a store keeps its roles in, one each, beside the lifecycle and records it keeps itself. */
export interface RoleModules {
  readonly leases: LeaseStore;
  readonly runLog: RunLog;
  readonly scans: ScanStore;
  readonly states: StreamStateStore;
  readonly deadLetters: DeadLetterStore;
  readonly inspector: StoreInspector;
  readonly changes: ChangeFeed;
  readonly destinations: DestinationMapStore;
  readonly inbox: InboxStore;
  readonly actions: ActionLog;
}

/**
 * The role methods of a store, each handed to its module (`RoleModules`). Both stores extend it and
 * call `useRoles` in their constructor; they keep only what is theirs (opening, closing, the records:
 * the commit path and lookups, which are hot and stay direct).
 */
export abstract class StoreRoles
  implements
    LeaseStore,
    RunLog,
    ScanStore,
    StreamStateStore,
    DeadLetterStore,
    StoreInspector,
    ChangeFeed,
    DestinationMapStore,
    InboxStore,
    ActionLog
{
  #roles: RoleModules | undefined;

  /** Sets the modules; call once, in the constructor. */
  protected useRoles(roles: RoleModules): void {
    this.#roles = roles;
  }

  get #r(): RoleModules {
    if (!this.#roles) throw new Error('a store used its roles before its constructor set them');
    return this.#roles;
  }

  acquireLease(args: AcquireLease): Promise<{ lease: Lease } | { conflict: LeaseConflict }> {
    return this.#r.leases.acquireLease(args);
  }

  renewLease(lease: Lease, ttlMs: number, at: string): Promise<Lease> {
    return this.#r.leases.renewLease(lease, ttlMs, at);
  }

  releaseLease(lease: Lease): Promise<void> {
    return this.#r.leases.releaseLease(lease);
  }

  startRun(args: StartRun): Promise<void> {
    return this.#r.runLog.startRun(args);
  }

  finishRun(args: FinishRun): Promise<void> {
    return this.#r.runLog.finishRun(args);
  }

  closeAbandonedRuns(stream: string, at: string, error: string): Promise<number> {
    return this.#r.runLog.closeAbandonedRuns(stream, at, error);
  }

  listRuns(args: ListRuns): Promise<RunRecord[]> {
    return this.#r.runLog.listRuns(args);
  }

  countUnseen(stream: string, scanId: string): Promise<{ live: number; unseen: number }> {
    return this.#r.scans.countUnseen(stream, scanId);
  }

  completeScan(
    args: CompleteScan,
  ): Promise<{ readonly deleted: number; readonly sample: readonly string[] }> {
    return this.#r.scans.completeScan(args);
  }

  dropScan(stream: string, scanId: string): Promise<void> {
    return this.#r.scans.dropScan(stream, scanId);
  }

  getState(stream: string): Promise<StreamState | null> {
    return this.#r.states.getState(stream);
  }

  resetCheckpoint(stream: string, at: string, slot?: CheckpointSlot): Promise<void> {
    return this.#r.states.resetCheckpoint(stream, at, slot);
  }

  setApproval(stream: string, approved: boolean, at: string): Promise<void> {
    return this.#r.states.setApproval(stream, approved, at);
  }

  listDeadLetters(args: ListDeadLetters): Promise<StoredDeadLetter[]> {
    return this.#r.deadLetters.listDeadLetters(args);
  }

  openDeadLetters(args: OpenDeadLetters): Promise<StoredDeadLetter[]> {
    return this.#r.deadLetters.openDeadLetters(args);
  }

  openDeadLetterKeys(stream: string, max: number): Promise<string[] | null> {
    return this.#r.deadLetters.openDeadLetterKeys(stream, max);
  }

  ignoreDeadLetters(args: IgnoreDeadLetters): Promise<number> {
    return this.#r.deadLetters.ignoreDeadLetters(args);
  }

  addSinkDeadLetters(args: AddSinkDeadLetters): Promise<void> {
    return this.#r.deadLetters.addSinkDeadLetters(args);
  }

  openSinkDeadLetters(args: OpenSinkDeadLetters): Promise<StoredDeadLetter[]> {
    return this.#r.deadLetters.openSinkDeadLetters(args);
  }

  markSinkDeadLettersRedelivered(args: RedeliveredSinkDeadLetters): Promise<number> {
    return this.#r.deadLetters.markSinkDeadLettersRedelivered(args);
  }

  listStreams(): Promise<StreamStatus[]> {
    return this.#r.inspector.listStreams();
  }

  scanRecords(stream: string, args: { afterKey?: string; limit: number }): Promise<StoredRecord[]> {
    return this.#r.inspector.scanRecords(stream, args);
  }

  readHistory(stream: string, key: string, limit: number): Promise<RecordVersion[] | null> {
    return this.#r.inspector.readHistory(stream, key, limit);
  }

  readChanges(args: ReadChanges): Promise<ChangeRow[]> {
    return this.#r.changes.readChanges(args);
  }

  readEvents(args: ReadChanges): Promise<LogRow[]> {
    return this.#r.changes.readEvents(args);
  }

  changeLogBounds(): Promise<ChangeLogBounds> {
    return this.#r.changes.changeLogBounds();
  }

  consumerOffset(consumer: string): Promise<ConsumerOffset | null> {
    return this.#r.changes.consumerOffset(consumer);
  }

  registerConsumer(args: { consumer: string; afterSeq: number; at: string }): Promise<ConsumerOffset> {
    return this.#r.changes.registerConsumer(args);
  }

  ackChanges(args: { consumer: string; seq: number; at: string }): Promise<ConsumerOffset> {
    return this.#r.changes.ackChanges(args);
  }

  pruneChanges(args: PruneChanges): Promise<number> {
    return this.#r.changes.pruneChanges(args);
  }

  lookupMappings(args: {
    destination: string;
    stream: string;
    keys: readonly string[];
  }): Promise<Map<string, DestinationMapping>> {
    return this.#r.destinations.lookupMappings(args);
  }

  confirmDestinationWrites(args: ConfirmDestinationWrites): Promise<ConsumerOffset> {
    return this.#r.destinations.confirmDestinationWrites(args);
  }

  storeDestinationMappings(args: StoreDestinationMappings): Promise<void> {
    return this.#r.destinations.storeDestinationMappings(args);
  }

  forgetMappings(args: { destination: string; stream?: string }): Promise<number> {
    return this.#r.destinations.forgetMappings(args);
  }

  addInboxEvent(event: InboxEvent): Promise<{ readonly id: number; readonly duplicate: boolean }> {
    return this.#r.inbox.addInboxEvent(event);
  }

  readInbox(args: { stream: string; afterId: number; limit: number }): Promise<StoredInboxEvent[]> {
    return this.#r.inbox.readInbox(args);
  }

  inboxBacklog(args: { stream: string; afterId: number; limit: number }): Promise<number> {
    return this.#r.inbox.inboxBacklog(args);
  }

  pruneInbox(args: { stream: string; appliedUpTo: number; receivedBefore: string }): Promise<number> {
    return this.#r.inbox.pruneInbox(args);
  }

  recordAction(action: OperatorAction): Promise<void> {
    return this.#r.actions.recordAction(action);
  }

  listActions(args: ListActions): Promise<RecordedAction[]> {
    return this.#r.actions.listActions(args);
  }
}
