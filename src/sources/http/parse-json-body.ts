import { FatalError, TransientError } from '../../core/errors.ts';
import type { RawResponse } from './http-requester.ts';

/** `application/json`, `text/json`, `application/problem+json`, `application/vnd.api+json`... */
const JSON_TYPE = /^[^;]*[/+]json\s*(;|$)/i;

/**
 * The parsed body of an answer. A body that does not parse is
 * - transient when it says it is JSON or says nothing: a truncated or garbled copy of what the
 *   next attempt may get whole;
 * - fatal when its content-type is something else (`text/html`, `application/xml`): a login page,
 *   a proxy's error page or another service answered, and asking again gets the same page.
 */
export function parseJsonBody(raw: RawResponse, what: string, stream: string): unknown {
  try {
    return JSON.parse(raw.text);
  } catch (error) {
    const type = raw.headers['content-type'];
    if (type !== undefined && type.trim() !== '' && !JSON_TYPE.test(type)) {
      const excerpt = raw.text.replace(/\s+/g, ' ').trim().slice(0, 200);
      throw new FatalError(
        `stream "${stream}": ${what} answered ${raw.status} with content-type ${type}, not JSON` +
          `${excerpt ? ` (${excerpt})` : ''}; check that request.baseUrl and request.path name the API, not a web page`,
        { stream },
      );
    }
    throw new TransientError(
      `${what}: the body is not valid JSON (truncated or malformed, ${raw.bytes} bytes): ${(error as Error).message}`,
      { stream, summary: 'truncated or malformed JSON' },
    );
  }
}
