import { lookup as lookupCallback } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ConfigError } from '../core/errors.ts';

/**
 * Addresses a webhook sink may not post to unless `allowPrivateTargets`: loopback, private
 * (RFC 1918, fc00::/7), link-local (169.254/16 — cloud metadata endpoints live there — fe80::/10),
 * and the unspecified address. A config that names an internal service by mistake, or a host that
 * resolves inside, would otherwise let events (record data) leave to where they should not.
 */
const PRIVATE = new BlockList();
PRIVATE.addSubnet('127.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE.addSubnet('169.254.0.0', 16, 'ipv4');
PRIVATE.addSubnet('0.0.0.0', 8, 'ipv4');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addAddress('::', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');

/** Whether `address` (an IP literal) is loopback, private or link-local; IPv4-mapped IPv6 included. */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks the URL of a sink or destination (`owner`: `sink "crm"`) at start: http(s), and (without
 * `allowPrivate`) every address its host resolves to is public. One-line `ConfigError` naming the
 * owner and the URL otherwise.
 */
export async function checkTarget(owner: string, url: URL, allowPrivate: boolean): Promise<void> {
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${owner}: url ${shown}: must be http:// or https://`);
  }
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (error) {
    throw new ConfigError(
      `${owner}: url ${shown}: its host does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  const inside = addresses.find(isPrivateAddress);
  if (inside !== undefined) {
    throw new ConfigError(
      `${owner}: url ${shown}: resolves to ${inside}, a loopback, private or link-local address; ` +
        'set allowPrivateTargets: true if that is meant',
    );
  }
}

/** Thrown (as the connection's error) when a host resolves to a refused address at connect time. */
export class PrivateTargetError extends Error {}

/**
 * A `lookup` for sockets that refuses private addresses at connect time, so a host whose DNS
 * changes after the start check (rebinding) is refused too. IP literals skip lookups: the start
 * check covers them.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookupCallback(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const inside = addresses.find((a) => isPrivateAddress(a.address));
    if (inside) {
      const refused = new PrivateTargetError(
        `${hostname} resolves to ${inside.address}, a loopback, private or link-local address`,
      ) as NodeJS.ErrnoException;
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};
