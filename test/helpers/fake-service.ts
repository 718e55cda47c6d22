import type { RunRequest } from '../../src/core/types.ts';
import type {
  MetricsHandle,
  ScheduledStreamStatus,
  SchedulerHandle,
  TriggerResult,
} from '../../src/runtime/service-types.ts';

/**
 * Stand-ins for the scheduler and the metrics (other modules, tested on their own) that record what
 * the service asked of them, for tests of the service control and the HTTP API.
 */
export class FakeScheduler implements SchedulerHandle {
  running = true;
  readonly triggered: { stream: string; request: RunRequest }[] = [];
  readonly resumed: string[] = [];
  readonly statuses: ScheduledStreamStatus[];

  constructor(streams: readonly string[]) {
    this.statuses = streams.map((stream) => ({
      stream,
      state: 'idle',
      schedule: 'every 30s',
      reconcileSchedule: null,
      nextRunAt: '2026-01-01T00:00:30.000Z',
      nextRunMode: 'sync',
      running: null,
      consecutiveFailures: 0,
      backoffUntil: null,
      lastOutcome: null,
    }));
  }

  status(): ScheduledStreamStatus[] {
    return this.statuses;
  }

  trigger(stream: string, request: RunRequest): TriggerResult {
    this.triggered.push({ stream, request });
    return { state: 'queued', stream, mode: request.mode };
  }

  resume(stream: string): void {
    this.resumed.push(stream);
  }

  queueDepth(): number {
    return 0;
  }
}

export function fakeMetrics(body = '# TYPE syncline_up gauge\nsyncline_up 1\n'): MetricsHandle {
  return {
    async render() {
      return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body };
    },
  };
}
