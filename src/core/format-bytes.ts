import { ConfigError } from './errors.ts';

/** `512MB`, `2GB` or a number of bytes, as bytes (units of 1024). */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)$/i.exec(value.trim());
  if (!match) throw new ConfigError(`"${value}" is not a size like 512MB or 2GB`);
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[
    match[2]!.toUpperCase() as 'B' | 'KB' | 'MB' | 'GB' | 'TB'
  ];
  return Math.round(Number(match[1]) * unit);
}

/** Bytes for people: `512 B`, `3.4 kB`, `12.0 MB`, `1.5 GB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}
