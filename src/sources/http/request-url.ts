import { FatalError } from '../../core/errors.ts';
import type { HttpSettings } from './http-settings.ts';
import type { RequestPlan } from './http-types.ts';

/**
 * The URL a plan asks for: the API's own next-page URL as it is (refused when it leaves the
 * stream's origin), or `base` (default the stream's list URL) with the static query and the plan's.
 */
export function requestUrl(s: HttpSettings, plan: RequestPlan, base: URL = s.base): URL {
  if (plan.url) {
    const next = new URL(plan.url, base);
    // Never send this stream's credentials to a host its config did not name.
    if (next.origin !== s.base.origin) {
      throw new FatalError(
        `stream "${s.stream}": the API's next-page URL points to ${next.origin}, not ${s.base.origin}; ` +
          'refusing to send credentials there',
        { stream: s.stream },
      );
    }
    return next;
  }
  const url = new URL(base);
  for (const [name, value] of Object.entries(s.config.request.query ?? {}))
    url.searchParams.set(name, String(value));
  for (const [name, value] of Object.entries(plan.query)) url.searchParams.set(name, value);
  return url;
}
