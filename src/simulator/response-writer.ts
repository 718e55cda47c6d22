import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FaultDecision, malformBody } from './fault-injector.ts';

/** An answer before it is written: status, headers and body (text, or bytes for list pages). */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
  /** The body's ETag when already computed (prefetched pages). */
  etag?: string;
}

/** A JSON error answer in the simulator's one error shape. */
export function errorAnswer(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): Answer {
  return { status, headers, body: JSON.stringify({ error: { status, type, message } }) };
}

/** A strong ETag of the body text (SHA-1, base64url), so a changed page always changes its tag. */
export function etagOf(body: string | Buffer): string {
  return '"' + createHash('sha1').update(body).digest('base64url') + '"';
}

/** True when `If-None-Match` lists the tag (weak comparison, as RFC 9110 asks for GET) or is `*`. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((raw) => {
    const tag = raw.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}

/**
 * Applies conditional-request validators to a 200 answer. The ETag is the page's; Last-Modified is
 * the dataset's, sent only once its second is over, because HTTP dates have whole seconds and a
 * later change in the same second would otherwise hide behind a 304.
 */
export function withValidators(
  req: IncomingMessage,
  answer: Answer,
  lastModifiedMs: number,
  nowMs: number,
): Answer {
  if (answer.status !== 200) return answer;
  const etag = answer.etag ?? etagOf(answer.body);
  const headers: Record<string, string> = { ...answer.headers, ETag: etag };
  const lmSecond = Math.floor(lastModifiedMs / 1000);
  const settled = Math.floor(nowMs / 1000) > lmSecond;
  if (settled) headers['Last-Modified'] = new Date(lmSecond * 1000).toUTCString();
  const inm = req.headers['if-none-match'];
  let notModified = etagMatches(inm, etag);
  const ims = req.headers['if-modified-since'];
  if (inm === undefined && ims !== undefined && settled) {
    const since = Date.parse(ims);
    notModified = !Number.isNaN(since) && lmSecond * 1000 <= since;
  }
  return notModified ? { status: 304, headers, body: '' } : { ...answer, headers };
}

/**
 * Writes an answer, applying a body fault when there is one: `truncated` completes the HTTP
 * response with a cut body (its Content-Length matches the cut), `malformed` sends a non-JSON body
 * with status 200, `reset` sends the headers (with the full Content-Length) and part of the body,
 * then destroys the socket. HEAD answers carry the headers of the GET answer and no body.
 */
export function writeAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  answer: Answer,
  fault: FaultDecision,
): void {
  let body = typeof answer.body === 'string' ? Buffer.from(answer.body) : answer.body;
  const headers: Record<string, string> = { ...answer.headers };
  if (answer.status !== 304) headers['Content-Type'] ??= 'application/json; charset=utf-8';
  if (answer.status === 200 && fault.kind === 'reset') {
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.write(body.subarray(0, Math.floor(body.length * fault.cut)), () => req.socket.destroy());
    return;
  }
  if (answer.status === 200 && fault.kind === 'truncated')
    body = body.subarray(0, Math.floor(body.length * fault.cut));
  if (answer.status === 200 && fault.kind === 'malformed')
    body = Buffer.from(malformBody(body.toString(), fault.variant));
  if (answer.status !== 304) headers['Content-Length'] = String(body.length);
  res.writeHead(answer.status, headers);
  res.end(req.method === 'HEAD' || answer.status === 304 ? undefined : body);
}
