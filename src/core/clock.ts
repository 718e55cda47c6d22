import { randomBytes } from 'node:crypto';
import { ProcessIdentity } from './process-identity.ts';

/** Now as an ISO-8601 UTC string, the form every stored timestamp takes. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** A time-ordered run id: `r` + 11 base-36 digits of epoch ms + 8 random hex. Sorts by start. */
export function newRunId(): string {
  return `r${Date.now().toString(36).padStart(11, '0')}${randomBytes(4).toString('hex')}`;
}

/**
 * Identifies this process as a lease holder: `host:pid:random:pidns=…:boot=…:start=…` (see
 * `ProcessIdentity`), or `host:pid:random` where /proc cannot say more.
 */
export function newHolderId(): string {
  return ProcessIdentity.current().toHolderId(randomBytes(3).toString('hex'));
}
