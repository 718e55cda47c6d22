import { FatalError, SyncError, TransientError } from '../../core/errors.ts';
import { readPath } from '../../core/field-path.ts';
import type { AttemptState } from '../../core/source.ts';
import { scrubSecrets } from './auth/scrub-secrets.ts';
import type { Validators } from './http-checkpoint.ts';
import type { RawResponse } from './http-requester.ts';
import type { HttpRun } from './http-run.ts';
import type { FetchByIdConfig } from './http-stream-config.ts';
import type { PageResponse } from './http-types.ts';
import { parseJsonBody } from './parse-json-body.ts';
import { selectRecords } from './record-selector.ts';
import { parseRateBudget } from './retry-after.ts';

/** What an answer holds, and so how its records are read. */
export type HttpAnswer =
  /** A list pass: the stream's rows at its `records` path, mapped to records (`record`, `deletedPath`, `fields`). */
  | { readonly kind: 'list' }
  /** A deleted-records feed: entries at `records`, taken as they are. */
  | { readonly kind: 'entries'; readonly records: string | undefined }
  /**
   * Fetch-by-id: one record (`fields` apply); a 404 or 410 is an answer too, a page with that
   * status and no records (the record is gone).
   */
  | { readonly kind: 'byId'; readonly byId: FetchByIdConfig };

export interface FetchPageArgs {
  readonly run: HttpRun;
  readonly url: URL;
  /** Default `{ kind: 'list' }`. */
  readonly answer?: HttpAnswer;
  /** Validators of the last answer to this URL, sent as `If-None-Match` / `If-Modified-Since`. Default none. */
  readonly validators?: Validators | null;
  /** `HEAD` asks only whether the answer changed (a 304 or not). Default `GET`. */
  readonly method?: 'GET' | 'HEAD';
}

/** An answered request, and the validators to send with the same request next time. */
export interface Fetched {
  readonly page: PageResponse;
  readonly validators: Validators | null;
}

/**
 * One request of a run, under the run's retry policy and the host's rate limiter (`attempt`):
 * signed by the run's auth (a 401 refreshes the token once), counted (API calls, bytes), the API's
 * rate budget passed on, the body parsed and its records read as `answer` says. `'not-modified'`
 * when the API answered 304 to the validators. No message leaves with a secret in it.
 */
export async function fetchPage(args: FetchPageArgs): Promise<Fetched | 'not-modified'> {
  const { run, url, validators = null, method = 'GET', answer = { kind: 'list' } } = args;
  const { settings: s, args: source, auth } = run;
  const shownUrl = () => scrubSecrets(redactQuery(url), auth.secrets());
  const what = `${method} ${shownUrl()}`;
  try {
    return await source.attempt(
      async (_n, attempt) => {
        let refreshed = false;
        for (;;) {
          const headers: Record<string, string> = { accept: 'application/json', ...s.config.request.headers };
          if (validators?.etag) headers['if-none-match'] = validators.etag;
          if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
          const request = { url: new URL(url), headers };
          await auth.apply(request, source.signal);
          // Counted before it is sent: failed and retried requests are API calls too.
          source.report({ apiCalls: 1 });
          const raw = await run.requester.send({
            method,
            url: request.url,
            headers,
            signal: source.signal,
            what,
            stream: s.stream,
            attempt,
            ...(answer.kind === 'byId' ? { goneIsAnswer: true } : {}),
          });
          source.report({ bytes: raw.bytes });
          const budget = parseRateBudget(raw.headers);
          if (budget) source.observeLimit(s.base.host, budget);
          if (raw.status === 401) {
            if (!refreshed && (await auth.refresh(source.signal))) {
              refreshed = true;
              continue;
            }
            throw new FatalError(
              `stream "${s.stream}": ${what} answered 401 Unauthorized${refreshed ? ' after refreshing the token' : ''}; ` +
                'check the credentials in the environment variables the auth config names',
              { stream: s.stream },
            );
          }
          if (raw.status === 304) return 'not-modified' as const;
          if (answer.kind === 'byId' && (raw.status === 404 || raw.status === 410)) {
            return { page: emptyPage(raw, url), validators: null };
          }
          if (method === 'HEAD') return { page: emptyPage(raw, url), validators: null };
          return readAnswer({ run, raw, url, what, shownUrl: shownUrl(), answer, attempt });
        }
      },
      { what, limiter: { key: s.base.host, ...(s.config.rateLimit ? { rate: s.config.rateLimit } : {}) } },
    );
  } catch (error) {
    // A server may echo a credential in an error body: no message leaves with a secret in it.
    if (error instanceof SyncError) error.message = scrubSecrets(error.message, auth.secrets());
    throw error;
  }
}

/** The page of a successful answer: its JSON body, the records in it as `answer` says, its validators. */
function readAnswer(args: {
  readonly run: HttpRun;
  readonly raw: RawResponse;
  readonly url: URL;
  readonly what: string;
  readonly shownUrl: string;
  readonly answer: HttpAnswer;
  readonly attempt: AttemptState;
}): Fetched {
  const { run, raw, url, what, answer } = args;
  const s = run.settings;
  let body: unknown;
  try {
    body = parseJsonBody(raw, what, s.stream);
  } catch (error) {
    const decision = !(error instanceof TransientError)
      ? 'fatal'
      : args.attempt.last
        ? 'giving up'
        : 'retrying';
    run.args.log.debug(
      { stream: s.stream, method: 'GET', requestUrl: args.shownUrl, status: raw.status, decision },
      `${what}: the answer is not JSON; ${decision}`,
    );
    throw error;
  }
  const where = `stream "${s.stream}": ${what}`;
  const { records, deleted } =
    answer.kind === 'byId'
      ? {
          records: [s.mapper.mapRecord(answer.byId.record ? readPath(body, answer.byId.record) : body)],
          deleted: undefined,
        }
      : answer.kind === 'entries'
        ? { records: selectRecords(body, answer.records, where), deleted: undefined }
        : s.mapper.mapRows(selectRecords(body, s.config.records, where), where);
  const etag = raw.headers['etag'];
  const lastModified = raw.headers['last-modified'];
  return {
    page: {
      status: raw.status,
      headers: raw.headers,
      body,
      records,
      ...(deleted !== undefined && deleted.size > 0 ? { deleted } : {}),
      url: args.shownUrl,
    },
    validators:
      etag || lastModified
        ? { url: url.href, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) }
        : null,
  };
}

function emptyPage(raw: { status: number; headers: Record<string, string> }, url: URL): PageResponse {
  return { status: raw.status, headers: raw.headers, body: null, records: [], url: redactQuery(url) };
}

/** The URL as shown in messages: credentials in the userinfo removed. */
function redactQuery(url: URL): string {
  const shown = new URL(url);
  shown.username = '';
  shown.password = '';
  return shown.toString();
}
