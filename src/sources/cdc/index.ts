import { cdcStream } from './cdc-stream.ts';

export type { CdcConfig, CdcStreamConfig } from './cdc-stream-config.ts';

/** PostgreSQL change data capture through a logical replication slot: `cdc.stream({ name, key, cdc })`. */
export const cdc = { stream: cdcStream } as const;
