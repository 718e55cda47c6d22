import type { SourceArgs } from '../../core/source.ts';
import { createAuth } from './auth/create-auth.ts';
import { HttpRequester } from './http-requester.ts';
import type { HttpSettings } from './http-settings.ts';
import type { HttpAuth } from './http-types.ts';

/** One run of an HTTP stream: its settings, the engine's services, and the run's own auth and requester. */
export interface HttpRun {
  readonly settings: HttpSettings;
  /** What the engine gave the run: `attempt`, `report`, `signal`, `log`, `request`... */
  readonly args: SourceArgs;
  /** Signs requests; one per run, so tokens are cached between its requests. */
  readonly auth: HttpAuth;
  readonly requester: HttpRequester;
}

/** Starts a run: its auth and HTTP requester, as the stream's config describes them. */
export function openHttpRun(settings: HttpSettings, args: SourceArgs): HttpRun {
  const { config } = settings;
  return {
    settings,
    args,
    auth: createAuth(config.auth, args.secret, { stream: settings.stream }),
    requester: new HttpRequester(
      {
        ...(config.request.timeoutMs !== undefined ? { requestMs: config.request.timeoutMs } : {}),
        ...(config.request.connectTimeoutMs !== undefined
          ? { connectMs: config.request.connectTimeoutMs }
          : {}),
      },
      args.log,
      args.observeRequest,
    ),
  };
}
