import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** How this module reads /proc; node:fs by default, a fake in tests. Both throw as node:fs does. */
export interface ProcFiles {
  readFile(path: string): string;
  readLink(path: string): string;
}

const PROC: ProcFiles = {
  readFile: (path) => readFileSync(path, 'utf8'),
  readLink: (path) => readlinkSync(path),
};

/**
 * Who a lease holder is, precisely enough to tell, from another process, that it is certainly gone.
 * A PID alone is not: containers that share a hostname each have their own PID namespace (PID 7
 * here is not PID 7 there), and a PID is reused once its process has exited. So a holder is named
 * by host, PID, PID namespace, boot and the start time of its process, and is judged gone only
 * when all of these say so (`isCertainlyGone`); anything it cannot prove means "wait for the TTL".
 *
 * Holder id (`toHolderId`): `host:pid:random:pidns=<inode>:boot=<boot id>:start=<ticks>`; where
 * /proc cannot tell, only `host:pid:random` (the old format, never taken over early).
 */
export class ProcessIdentity {
  constructor(
    readonly host: string,
    readonly pid: number,
    /** Inode of `/proc/<pid>/ns/pid`: processes see the same PIDs only inside one namespace. Null: unknown. */
    readonly pidNamespace: string | null,
    /** `/proc/sys/kernel/random/boot_id`: a new random id at every boot of the kernel. Null: unknown. */
    readonly bootId: string | null,
    /**
     * Field 22 of `/proc/<pid>/stat`, the process's start in clock ticks after boot: with the PID, it
     * names one process for the whole boot, though the PID be reused. Null: unknown.
     */
    readonly startTime: string | null,
  ) {}

  /** This process. Namespace, boot and start time are null unless /proc is there and is our own. */
  static current(files: ProcFiles = PROC): ProcessIdentity {
    const host = hostname();
    const pid = process.pid;
    try {
      const self = statFields(files.readFile('/proc/self/stat'));
      // A /proc mounted for another PID namespace shows another PID for ourselves: its PIDs are not ours.
      if (self === null || self.pid !== String(pid)) return new ProcessIdentity(host, pid, null, null, null);
      const namespace = /^pid:\[(\d+)\]$/.exec(files.readLink('/proc/self/ns/pid'))?.[1];
      const bootId = files.readFile('/proc/sys/kernel/random/boot_id').trim();
      if (namespace === undefined || !/^[0-9a-f-]+$/.test(bootId)) {
        return new ProcessIdentity(host, pid, null, null, null);
      }
      return new ProcessIdentity(host, pid, namespace, bootId, self.startTime);
    } catch {
      return new ProcessIdentity(host, pid, null, null, null);
    }
  }

  /** Reads a holder id back; null when it is not one (fields this format lacks stay null). */
  static parse(holderId: string): ProcessIdentity | null {
    const [host, pidText, random, ...rest] = holderId.split(':');
    const pid = Number(pidText);
    if (!host || random === undefined || !Number.isInteger(pid) || pid <= 0) return null;
    const extra = new Map(
      rest.map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)]),
    );
    return new ProcessIdentity(
      host,
      pid,
      extra.get('pidns') ?? null,
      extra.get('boot') ?? null,
      extra.get('start') ?? null,
    );
  }

  /** The id this process holds leases under; `random` tells apart holders within one process. */
  toHolderId(random: string): string {
    const base = `${this.host}:${this.pid}:${random}`;
    if (this.pidNamespace === null || this.bootId === null || this.startTime === null) return base;
    return `${base}:pidns=${this.pidNamespace}:boot=${this.bootId}:start=${this.startTime}`;
  }

  /**
   * Whether the process this identity names has certainly ended, as seen from `self` (this process):
   * the same host, boot and PID namespace, and its PID is free or now belongs to a process that
   * started at another time (or to a zombie: exited, not yet reaped). Anything else, an unknown
   * field, another namespace, /proc unreadable, is not certain: false.
   */
  isCertainlyGone(self: ProcessIdentity = ProcessIdentity.current(), files: ProcFiles = PROC): boolean {
    if (self.pidNamespace === null || self.bootId === null) return false;
    if (this.pidNamespace === null || this.bootId === null || this.startTime === null) return false;
    if (this.host !== self.host || this.bootId !== self.bootId || this.pidNamespace !== self.pidNamespace) {
      return false;
    }
    let stat: string;
    try {
      stat = files.readFile(`/proc/${this.pid}/stat`);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
    const fields = statFields(stat);
    if (fields === null) return false;
    return fields.startTime !== this.startTime || fields.state === 'Z' || fields.state === 'X';
  }
}

/**
 * The fields of `/proc/<pid>/stat` used here: 1 (pid), 3 (state) and 22 (start time). Field 2, the
 * command name in parentheses, may itself hold spaces and parentheses: fields are counted after
 * its last `)`.
 */
function statFields(stat: string): { pid: string; state: string; startTime: string } | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const after = stat.slice(close + 2).split(' ');
  const pid = stat.slice(0, stat.indexOf(' '));
  const state = after[0];
  const startTime = after[19];
  if (state === undefined || startTime === undefined || !/^\d+$/.test(startTime)) return null;
  return { pid, state, startTime };
}
