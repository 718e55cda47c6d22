import { readFileSync } from 'node:fs';
import { SimulatorAdminError } from './bench-error.ts';
import { BenchChild } from './child-process.ts';
import type { SimulatorChildArgs, SimulatorChildResult } from './simulator-child.ts';

/** Every mutation kind the simulator knows, so a mix names each one (a missing kind keeps its default weight). */
export interface MutationMix {
  readonly insert: number;
  readonly update: number;
  readonly backdate: number;
  readonly burst: number;
  readonly softDelete: number;
  readonly hardDelete: number;
}

/** What `POST /_admin/mutate` answers: mutations applied by kind, and records touched. */
export type MutationCounts = MutationMix & { readonly records: number };

/** The part of `GET /_admin/stats` the bench reads. */
interface SimulatorStats {
  readonly requests: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
}

/** API traffic seen by the simulator: the independent count of what a client asked. */
export interface ApiTraffic {
  /** Requests to `/v1/...` (any method). */
  readonly requests: number;
  /** Of those, answered `304 Not Modified`. */
  readonly notModified: number;
}

/** The part of a CRM contact the bench checks. */
export interface CrmContactLite {
  readonly id: string;
  readonly external_id?: unknown;
}

/** The part of `GET /_admin/crm/stats` the bench reads. */
export interface CrmStatsLite {
  readonly requests: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  readonly creates: number;
  readonly updates: number;
  readonly idempotentReplays: number;
  readonly maxRequestsPerSecond: number;
}

/**
 * The simulator child process and the admin calls the bench makes to it. The admin endpoints are
 * not API requests: `/_admin/stats` counts only `/v1/...` routes as API traffic.
 */
export class SimulatorProcess {
  readonly url: string;
  readonly startupMs: number;
  readonly pid: number;
  private readonly child: BenchChild;

  private constructor(child: BenchChild, ready: SimulatorChildResult) {
    this.child = child;
    this.url = ready.url;
    this.startupMs = ready.startupMs;
    this.pid = child.process.pid!;
  }

  static async start(customers: number, seed: number): Promise<SimulatorProcess> {
    const args: SimulatorChildArgs = { customers, seed };
    const child = new BenchChild('simulator-child.ts', args, 'simulator');
    try {
      const ready = JSON.parse(await child.nextLine()) as SimulatorChildResult;
      return new SimulatorProcess(child, ready);
    } catch (error) {
      await child.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.child.stop();
  }

  /** Requests and 304s so far, to take the difference around a run. */
  async traffic(): Promise<ApiTraffic> {
    const stats = await this.admin<SimulatorStats>('GET', '/_admin/stats');
    let requests = 0;
    for (const [route, n] of Object.entries(stats.requests)) if (/^[A-Z]+ \/v1\//.test(route)) requests += n;
    return { requests, notModified: stats.statuses['304'] ?? 0 };
  }

  /** Sets the mutation mix (weights by kind) and how far back a backdated update may land. */
  async setMutations(mix: MutationMix, backdateMaxMs: number): Promise<void> {
    await this.admin('POST', '/_admin/mutations', { mix, backdateMaxMs });
  }

  /** Applies `n` mutations now. */
  async mutate(n: number): Promise<MutationCounts> {
    return this.admin<MutationCounts>('POST', '/_admin/mutate', { n });
  }

  /** Changes the API's faults (`POST /_admin/faults`, a partial patch), e.g. `{ slow: 1, slowMs: 50 }`. */
  async setFaults(patch: Record<string, unknown>): Promise<void> {
    await this.admin('POST', '/_admin/faults', patch);
  }

  /** Changes the CRM's settings (`POST /_admin/crm`, a partial patch). */
  async configureCrm(patch: Record<string, unknown>): Promise<void> {
    await this.admin('POST', '/_admin/crm', patch);
  }

  /** Empties the CRM: contacts, idempotency keys, stats. */
  async resetCrm(): Promise<void> {
    await this.admin('POST', '/_admin/crm/reset', {});
  }

  /** The CRM's ground truth: every live contact. */
  async crmContacts(): Promise<CrmContactLite[]> {
    return (await this.admin<{ contacts: CrmContactLite[] }>('GET', '/_admin/crm/contacts')).contacts;
  }

  /** The CRM's counters (`GET /_admin/crm/stats`). */
  async crmStats(): Promise<CrmStatsLite> {
    return this.admin<CrmStatsLite>('GET', '/_admin/crm/stats');
  }

  /**
   * CPU seconds the simulator process has used (Linux `/proc/<pid>/stat`, clock ticks of 1/100 s);
   * null where `/proc` does not exist. Tells how much of a run's time went into serving it.
   */
  cpuSeconds(): number | null {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start at ")"; utime and stime are
      // fields 14 and 15, i.e. 12th and 13th after the state field.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }

  private async admin<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    if (!res.ok) throw new SimulatorAdminError(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
}
