import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import { ConfigError } from '../../core/errors.ts';
import type { StoredDeadLetter } from '../../core/types.ts';
import type { ServiceControl } from '../../runtime/service-types.ts';
import type { DashboardContext } from './dashboard-app.ts';
import { badge, count, type Html, message, when } from './dashboard-html.ts';
import { maskSecrets } from './redact.ts';
import { sentence } from './sinks-page.ts';

/** Letters a page shows at most (newest first). */
export const FAILED_SHOWN = 200;
/** Letters read to filter by reason: the reason filter looks through this many of the newest. */
const FAILED_READ = 500;
/** Ids one action takes at most (as the API's replay). */
const MAX_IDS = 500;
/** The form the row checkboxes belong to (they sit in the table, the buttons above it). */
const SELECTION_FORM = 'failed-selection';

export interface FailedQuery {
  /** Only this stream ('' for every stream). */
  readonly stream: string;
  /** Only letters whose reason contains this (case-insensitive; '' for any). */
  readonly reason: string;
  /** Resolved, replayed and ignored letters too, not only open ones. */
  readonly all: boolean;
}

/** The page's query string, as its filter form and its live refresh carry it. */
export function failedSearch(query: FailedQuery): string {
  const params = new URLSearchParams();
  if (query.stream !== '') params.set('stream', query.stream);
  if (query.reason !== '') params.set('reason', query.reason);
  if (query.all) params.set('all', '1');
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function queryOf(c: Context): FailedQuery {
  const all = c.req.query('all');
  return {
    stream: (c.req.query('stream') ?? '').slice(0, 200),
    reason: (c.req.query('reason') ?? '').slice(0, 200),
    all: all === '1' || all === 'true',
  };
}

/**
 * A letter's payload as the page shows it: pretty-printed JSON with secrets masked when it parses,
 * else its text (URLs with credentials redacted).
 */
export function payloadText(payload: string): string {
  try {
    return JSON.stringify(maskSecrets(JSON.parse(payload)), null, 2);
  } catch {
    return String(maskSecrets(payload));
  }
}

/** The live part: the letters matching the filter, newest first, with their actions. */
export async function failedFragment(
  control: ServiceControl,
  query: FailedQuery,
  nowMs: number,
): Promise<Html> {
  const search = failedSearch(query);
  let letters: StoredDeadLetter[];
  let problem: string | null = null;
  try {
    letters = await control.failed({
      ...(query.stream !== '' ? { stream: query.stream } : {}),
      limit: query.reason === '' ? FAILED_SHOWN + 1 : FAILED_READ,
      all: query.all,
    });
  } catch (error) {
    letters = [];
    problem = error instanceof Error ? error.message : String(error);
  }
  const needle = query.reason.trim().toLowerCase();
  const matching = letters.filter((l) => needle === '' || l.reason.toLowerCase().includes(needle));
  const shown = matching.slice(0, FAILED_SHOWN);
  const open = shown.filter((l) => l.status === 'open').length;
  return html`<div id="failed" hx-get="/ui/fragments/failed${search}" hx-trigger="sse:failed" hx-swap="outerHTML">
${problem !== null ? message('error', problem) : ''}
<p class="muted" data-count="${shown.length}">${count(shown.length)} ${query.all ? '' : 'open '}dead letter${shown.length === 1 ? '' : 's'}${matching.length > FAILED_SHOWN ? `, the newest ${FAILED_SHOWN} shown` : ''}${open > 0 ? '; select some to replay or ignore them' : ''}.</p>
${
  shown.length === 0
    ? html`<p class="muted">${query.stream !== '' || needle !== '' ? 'No dead letter matches the filter.' : query.all ? 'No dead letters.' : 'No open dead letters: every record was accepted.'}</p>`
    : html`<div class="table-wrap">
<table class="failed">
<caption class="sr-only">Dead letters, newest first</caption>
<thead><tr><th scope="col"><span class="sr-only">Select</span></th><th scope="col" class="num">Id</th><th scope="col">Stream</th><th scope="col">Key</th><th scope="col">Reason</th><th scope="col" class="num">Seen</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${shown.map((l) => letterRow(l, nowMs))}</tbody>
</table>
</div>`
}
</div>`;
}

function letterRow(l: StoredDeadLetter, nowMs: number): Html {
  const isOpen = l.status === 'open';
  const vals = JSON.stringify({ ids: String(l.id) });
  return html`<tr data-letter="${l.id}">
<td>${isOpen ? html`<input type="checkbox" name="ids" value="${l.id}" form="${SELECTION_FORM}" aria-label="Select dead letter ${l.id}">` : ''}</td>
<td class="num">${l.id}</td>
<td>${l.sink !== undefined ? html`<span class="muted">sink</span> ${l.sink} <span class="muted">(${l.stream})</span>` : l.stream}</td>
<td>${l.key ?? html`<span class="muted">–</span>`}</td>
<td class="reason">${l.reason}
<details class="payload"><summary>Payload</summary><pre>${payloadText(l.payload)}</pre></details></td>
<td class="num">${count(l.occurrences)}</td>
<td>${when(l.createdAt, nowMs)}</td>
<td>${when(l.lastSeenAt, nowMs)}</td>
<td>${badge(l.status)}</td>
<td class="actions">${
    isOpen
      ? html`<button type="button" class="small" hx-post="/ui/failed/replay" hx-vals="${vals}" hx-target="#messages" hx-swap="innerHTML" aria-label="Replay dead letter ${l.id}">Replay</button>
<button type="button" class="small ghost" hx-post="/ui/failed/ignore" hx-vals="${vals}" hx-target="#messages" hx-swap="innerHTML" aria-label="Ignore dead letter ${l.id}">Ignore</button>`
      : ''
  }</td>
</tr>`;
}

/** The page: the filter, the buttons acting on the selected letters, then the live list. */
export async function failedBody(control: ServiceControl, query: FailedQuery, nowMs: number): Promise<Html> {
  const streams = (await control.streams()).map((s) => s.stream);
  if (query.stream !== '' && !streams.includes(query.stream)) streams.push(query.stream);
  return html`<h1>Dead letters</h1>
<p class="hint">Records a stream's schema or target refused, and events a sink could not deliver. A replay runs them through the engine again (a sink's are redelivered); ignoring sets them aside (kept, shown with "all").</p>
<form class="filter" role="search" method="get" action="/ui/failed">
<label for="failed-stream">Stream</label>
<select id="failed-stream" name="stream">
<option value="">every stream</option>
${streams.map((s) => html`<option value="${s}"${s === query.stream ? html` selected` : ''}>${s}</option>`)}
</select>
<label for="failed-reason">Reason contains</label>
<input id="failed-reason" name="reason" type="search" value="${query.reason}" autocomplete="off">
<label for="failed-all">Show</label>
<select id="failed-all" name="all">
<option value=""${query.all ? '' : html` selected`}>open only</option>
<option value="1"${query.all ? html` selected` : ''}>all</option>
</select>
<button type="submit">Filter</button>
</form>
<form id="${SELECTION_FORM}" class="bulk">
<button type="button" hx-post="/ui/failed/replay" hx-include="#${SELECTION_FORM}" hx-target="#messages" hx-swap="innerHTML">Replay selected</button>
<button type="button" class="ghost" hx-post="/ui/failed/ignore" hx-include="#${SELECTION_FORM}" hx-target="#messages" hx-swap="innerHTML">Ignore selected</button>
</form>
${await failedFragment(control, query, nowMs)}`;
}

/** The letters an action names: form field `ids` (repeated), else every open one of `stream`. */
async function selectionOf(c: Context): Promise<{ ids: number[]; stream: string | null }> {
  const form = c.req.header('content-type')?.includes('form') ? await c.req.parseBody({ all: true }) : {};
  const given = form['ids'];
  const raw = (Array.isArray(given) ? given : given === undefined ? [] : [given]).map(String);
  const ids = [...new Set(raw.flatMap((v) => v.split(',')).map((v) => v.trim()))]
    .filter((v) => v !== '')
    .map((v) => {
      if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new ConfigError(`"${v}" is not a dead letter id`);
      return Number(v);
    });
  if (ids.length > MAX_IDS) throw new ConfigError(`select at most ${MAX_IDS} dead letters at once`);
  const stream = typeof form['stream'] === 'string' && form['stream'] !== '' ? form['stream'] : null;
  return { ids, stream };
}

const letters = (n: number) => `${count(n)} dead letter${n === 1 ? '' : 's'}`;

/** Replays the selected letters: a stream's through a queued replay run, a sink's redelivered now. */
async function replaySelected(control: ServiceControl, c: Context): Promise<string> {
  const { ids, stream } = await selectionOf(c);
  if (ids.length === 0) {
    if (stream === null) throw new ConfigError('Select the dead letters to replay first.');
    const { queued } = await control.replay({ stream }, 'dashboard');
    return queued.length === 0
      ? `${stream} has no open dead letters to replay.`
      : `Queued a replay of the open dead letters of ${stream}.`;
  }
  const open = await control.failed({ ids, limit: ids.length });
  if (open.length === 0) throw new ConfigError('None of the selected dead letters is open any more.');
  const answers: string[] = [];
  const ofStreams = open.filter((l) => l.sink === undefined);
  if (ofStreams.length > 0) {
    await control.replay({ ids: ofStreams.map((l) => l.id) }, 'dashboard');
    const names = [...new Set(ofStreams.map((l) => l.stream))].sort();
    answers.push(`Queued a replay of ${letters(ofStreams.length)} of ${names.join(', ')}.`);
  }
  const bySink = new Map<string, number[]>();
  for (const l of open) if (l.sink !== undefined) bySink.set(l.sink, [...(bySink.get(l.sink) ?? []), l.id]);
  for (const [sink, sinkIds] of [...bySink].sort(([a], [b]) => a.localeCompare(b))) {
    const outcome = await control.replaySink(sink, { ids: sinkIds }, 'dashboard');
    answers.push(sentence(outcome.message));
  }
  const gone = ids.length - open.length;
  if (gone > 0) answers.push(`${letters(gone)} no longer open, left alone.`);
  return answers.join(' ');
}

async function ignoreSelected(control: ServiceControl, c: Context): Promise<string> {
  const { ids, stream } = await selectionOf(c);
  if (ids.length === 0 && stream === null) throw new ConfigError('Select the dead letters to ignore first.');
  const { ignored } = await control.ignore(ids.length > 0 ? { ids } : { stream: stream! }, 'dashboard');
  return `Ignored ${letters(ignored)}${ids.length === 0 ? ` of ${stream}` : ''}.`;
}

/** The dead letters' routes: the page, its live fragment, replay and ignore. */
export function registerFailed(app: Hono, ctx: DashboardContext): void {
  app.get('/ui/failed', async (c) =>
    ctx.render(c, 'Dead letters', '/ui/failed', await failedBody(ctx.control, queryOf(c), Date.now())),
  );
  app.get('/ui/fragments/failed', async (c) =>
    c.html(await failedFragment(ctx.control, queryOf(c), Date.now())),
  );
  app.post('/ui/failed/replay', (c) => ctx.act(c, () => replaySelected(ctx.control, c)));
  app.post('/ui/failed/ignore', (c) => ctx.act(c, () => ignoreSelected(ctx.control, c)));
}
