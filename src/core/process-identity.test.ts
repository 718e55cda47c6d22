import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { holderIsDead } from '../engine/lease-keeper.ts';
import { newHolderId } from './clock.ts';
import { ProcessIdentity, type ProcFiles } from './process-identity.ts';

/** A PID no process has right now: that of a child that has exited and been reaped. */
function freePid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

/** Field 22 of /proc/<pid>/stat (the real one). */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const me = ProcessIdentity.current();

/** `me` with some fields replaced: a holder as some other process would have written it. */
function holder(over: Partial<ProcessIdentity>): string {
  const { host, pid, pidNamespace, bootId, startTime } = { ...me, ...over };
  return new ProcessIdentity(host, pid, pidNamespace, bootId, startTime).toHolderId('abc123');
}

describe('ProcessIdentity', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });

  it('reads this process from /proc: host, PID, PID namespace, boot id and start time', () => {
    expect(me.host).toBe(hostname());
    expect(me.pid).toBe(process.pid);
    expect(me.pidNamespace).toMatch(/^\d+$/);
    expect(me.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(me.startTime).toBe(startTimeOf(process.pid));
  });

  it('encodes all of it in the holder id, and reads it back', () => {
    const id = newHolderId();
    expect(id).toMatch(
      new RegExp(`^${hostname()}:${process.pid}:[0-9a-f]{6}:pidns=\\d+:boot=[0-9a-f-]+:start=\\d+$`),
    );
    expect({ ...ProcessIdentity.parse(id) }).toEqual({ ...me });
  });

  it('judges a holder from another PID namespace whose PID is free here NOT dead (its PID means nothing here)', () => {
    const otherNamespace = String(Number(me.pidNamespace) + 1);
    expect(holderIsDead(holder({ pid: freePid(), pidNamespace: otherNamespace }))).toBe(false);
  });

  it('judges a holder whose PID is free in our PID namespace, same boot, dead', () => {
    expect(holderIsDead(holder({ pid: freePid(), startTime: '12345' }))).toBe(true);
  });

  it('judges a holder whose PID now belongs to a process with another start time dead (PID reused)', () => {
    expect(holderIsDead(holder({ pid: process.ppid, startTime: '1' }))).toBe(true);
  });

  it('judges a live holder alive, and dead once it was killed', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    const live = holder({ pid: child.pid!, startTime: startTimeOf(child.pid!) });
    expect(holderIsDead(live)).toBe(false);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(holderIsDead(live)).toBe(true);
  });

  it('never judges this process dead', () => {
    expect(holderIsDead(newHolderId())).toBe(false);
  });

  it('waits for the TTL for a holder id of the old format (host:pid:random), even with a free PID', () => {
    expect(holderIsDead(`${hostname()}:${freePid()}:abc123`)).toBe(false);
    expect(ProcessIdentity.parse(`${hostname()}:${freePid()}:abc123`)?.pidNamespace).toBeNull();
  });

  it('waits for the TTL for a holder on another boot or another host', () => {
    const pid = freePid();
    expect(holderIsDead(holder({ pid, bootId: '00000000-0000-0000-0000-000000000000' }))).toBe(false);
    expect(holderIsDead(holder({ pid, host: `${hostname()}-other` }))).toBe(false);
  });

  it('judges a zombie (exited, not yet reaped) dead, by its state in /proc/<pid>/stat', () => {
    const files = fakeProc({
      [`/proc/4242/stat`]: `4242 (node worker) Z 1 ${'0 '.repeat(17)}${me.startTime} 0 0`,
    });
    const zombie = new ProcessIdentity(me.host, 4242, me.pidNamespace, me.bootId, me.startTime);
    expect(zombie.isCertainlyGone(me, files)).toBe(true);
    const running = fakeProc({
      [`/proc/4242/stat`]: `4242 (node worker) S 1 ${'0 '.repeat(17)}${me.startTime} 0 0`,
    });
    expect(zombie.isCertainlyGone(me, running)).toBe(false);
  });

  it('is conservative without /proc: no identity beyond host and PID, and never an early take-over', () => {
    const none = fakeProc({});
    const self = ProcessIdentity.current(none);
    expect(self).toMatchObject({ pidNamespace: null, bootId: null, startTime: null });
    expect(self.toHolderId('abc123')).toBe(`${hostname()}:${process.pid}:abc123`);
    const gone = new ProcessIdentity(me.host, freePid(), me.pidNamespace, me.bootId, '1');
    expect(gone.isCertainlyGone(self, none)).toBe(false);
    // A /proc that cannot be read for another reason than "no such process" proves nothing either.
    const denied: ProcFiles = {
      readFile: () => {
        throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      },
      readLink: () => {
        throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      },
    };
    expect(gone.isCertainlyGone(me, denied)).toBe(false);
  });

  it('is conservative when /proc shows another PID namespace than ours', () => {
    // /proc/self/stat names another PID: this /proc was mounted for another namespace.
    const foreign = fakeProc({
      '/proc/self/stat': `1 (node) S 0 ${'0 '.repeat(17)}99 0 0`,
      '/proc/sys/kernel/random/boot_id': `${me.bootId}\n`,
      '/proc/self/ns/pid': `pid:[${me.pidNamespace}]`,
    });
    expect(ProcessIdentity.current(foreign).pidNamespace).toBeNull();
  });
});

/** A /proc holding only `files` (links too): every other path is absent. */
function fakeProc(files: Record<string, string>): ProcFiles {
  const read = (path: string): string => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
  return { readFile: read, readLink: read };
}
