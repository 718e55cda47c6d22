/**
 * PostgreSQL write-ahead-log positions (`16/B374D848`): two 32-bit hex halves. As a bigint they
 * compare and subtract; as text they go to the server and into checkpoints.
 */

/** The LSN as a number of bytes since the start of the WAL; a clear error on anything else. */
export function lsnToBigInt(lsn: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!match) throw new Error(`"${lsn}" is not a PostgreSQL LSN (like 16/B374D848)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function bigIntToLsn(value: bigint): string {
  const upper = (value >> 32n).toString(16).toUpperCase();
  const lower = (value & 0xffffffffn).toString(16).toUpperCase();
  return `${upper}/${lower}`;
}

/** Negative when `a` is before `b`, 0 when equal, positive after. */
export function compareLsn(a: string, b: string): number {
  const x = lsnToBigInt(a);
  const y = lsnToBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A sortable fixed-width text of the LSN (16 hex digits), for event ids that must order. */
export function lsnSortable(lsn: string): string {
  return lsnToBigInt(lsn).toString(16).toUpperCase().padStart(16, '0');
}
