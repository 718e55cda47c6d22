import { fileStream } from './file-stream.ts';

export type { FileConfig, FileFormat, FileStreamConfig } from './file-stream-config.ts';

/** File sources (CSV, NDJSON, JSON arrays; a path or a glob): `file.stream({ name, key, file: {...} })`. */
export const file = { stream: fileStream } as const;
