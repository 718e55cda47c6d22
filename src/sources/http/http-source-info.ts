import { redactUrl } from '../../core/redact-url.ts';
import type { SourceInfo } from '../../core/stream-definition.ts';
import type { AuthConfig } from './auth/auth-config.ts';
import type { HttpStreamConfig } from './http-stream-config.ts';
import type { PaginationConfig } from './paginators/create-paginator.ts';

/**
 * What `syncline check` shows of an HTTP stream: the URL it lists, how it pages, how a run starts
 * after the last one, and the environment variables its auth reads. Defaults are spelled out, so
 * the line says what will be sent, not only what was written.
 */
export function httpSourceInfo(config: HttpStreamConfig<Record<string, unknown>>): SourceInfo {
  const pageSize = config.pageSize ?? 100;
  const sizeParam = config.pageSizeParam === undefined ? 'limit' : config.pageSizeParam;
  const incremental = config.incremental;
  const secrets = authSecrets(config.auth);
  return {
    kind: 'http',
    reads: `GET ${redactUrl(`${config.request.baseUrl.replace(/\/+$/, '')}${config.request.path ?? ''}`)}`,
    pagination: `${pagination(config.pagination)}, ${pageSize} a page${sizeParam ? ` (${sizeParam})` : ''}`,
    ...(config.pagination.type === 'feed'
      ? { incremental: `from the feed's last ${config.pagination.param ?? 'since'} token` }
      : incremental
        ? {
            incremental: [
              `${incremental.param ?? 'updated_since'} from the newest ${config.cursor ?? 'cursor'}`,
              ...(incremental.lookback ? [`lookback ${incremental.lookback}`] : []),
              ...(incremental.safetyLag ? [`safety lag ${incremental.safetyLag}`] : []),
            ].join(', '),
          }
        : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
  };
}

function pagination(p: PaginationConfig): string {
  switch (p.type) {
    case 'cursor':
      return `cursor (${p.tokenHeader ? `header ${p.tokenHeader}` : (p.tokenPath ?? 'next_cursor')} -> ${p.param ?? 'cursor'})`;
    case 'link':
      return 'link (Link: rel="next")';
    case 'keyset':
      return `keyset (${p.afterIdParam ?? (p.offsetParam ? `>= and ${p.offsetParam}` : '>= on the cursor')})`;
    case 'page':
      return `page (${p.param ?? 'page'} from ${p.firstPage ?? 1})`;
    case 'offset':
      return `offset (${p.param ?? 'offset'})`;
    case 'window':
      return `window (${p.fromParam ?? 'from'}/${p.toParam ?? 'to'}, ${p.window} ms from ${p.start})`;
    case 'feed':
      return `feed (${p.tokenPath ?? 'last_seq'} -> ${p.param ?? 'since'})`;
  }
}

/** The environment variables an auth config reads. */
function authSecrets(auth: AuthConfig | undefined): string[] {
  switch (auth?.type) {
    case undefined:
      return [];
    case 'bearer':
      return [auth.tokenEnv];
    case 'apiKey':
      return [auth.keyEnv];
    case 'basic':
      return [...(auth.usernameEnv ? [auth.usernameEnv] : []), auth.passwordEnv];
    case 'oauth2':
      return [auth.clientIdEnv, auth.clientSecretEnv];
  }
}
