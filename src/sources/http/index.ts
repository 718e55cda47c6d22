import { httpStream } from './http-stream.ts';

export type { AuthConfig } from './auth/auth-config.ts';
export type { CursorFormat } from './cursor-format.ts';
export type {
  Duration,
  FieldsConfig,
  HttpRequestConfig,
  HttpStreamConfig,
  IncrementalConfig,
} from './http-stream-config.ts';
export type { PaginationConfig } from './paginators/create-paginator.ts';

/** Declarative HTTP sources: `http.stream({ name, key, request, pagination, ... })`. */
export const http = { stream: httpStream } as const;
