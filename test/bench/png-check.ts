import { crc32, inflateSync } from 'node:zlib';

/** What the bench tests check of a PNG: it parses, its CRCs hold, and its pixels decompress. */
export interface PngFacts {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: number;
  readonly colorType: number;
  /** Chunk types in order. */
  readonly chunks: string[];
  /** Length of the inflated IDAT data: a filter byte per row plus the pixels. */
  readonly inflatedLength: number;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads a PNG's chunks, checking the signature and every CRC; throws on anything malformed. */
export function readPng(bytes: Buffer): PngFacts {
  if (!bytes.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG signature');
  const chunks: string[] = [];
  const idat: Buffer[] = [];
  let header: Buffer | null = null;
  for (let at = 8; at < bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('ascii', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    const crc = bytes.readUInt32BE(at + 8 + length);
    if (crc !== crc32(bytes.subarray(at + 4, at + 8 + length))) throw new Error(`bad CRC in ${type}`);
    chunks.push(type);
    if (type === 'IHDR') header = Buffer.from(data);
    if (type === 'IDAT') idat.push(Buffer.from(data));
    at += 12 + length;
  }
  if (header === null) throw new Error('no IHDR');
  return {
    width: header.readUInt32BE(0),
    height: header.readUInt32BE(4),
    bitDepth: header[8]!,
    colorType: header[9]!,
    chunks,
    inflatedLength: inflateSync(Buffer.concat(idat)).length,
  };
}
