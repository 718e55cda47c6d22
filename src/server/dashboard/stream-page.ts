import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import { describeError, NotFoundError } from '../../core/errors.ts';
import type { RecordedAction, RecordVersion } from '../../core/store.ts';
import type { ChangeRow, RunCounters, RunRecord } from '../../core/types.ts';
import type { ServiceControl, StreamView } from '../../runtime/service-types.ts';
import { ApiError, toApiError } from '../api-errors.ts';
import type { DashboardContext } from './dashboard-app.ts';
import { badge, count, type Html, message, span, when } from './dashboard-html.ts';
import { healthOf } from './overview-page.ts';
import { isSecretName, MASK, maskSecrets, maskString } from './redact.ts';

/** Runs the charts span. */
const CHART_RUNS = 50;
/** Runs the table lists. */
const TABLE_RUNS = 20;
/** Change-log rows listed. */
const CHANGES_SHOWN = 20;
/** Versions of a record shown. */
const VERSIONS_SHOWN = 50;
/** Errors of failed runs shown. */
const ERRORS_SHOWN = 5;
/** An error in the runs' table is cut after this many characters (its title has it all). */
const ERROR_CHARS = 200;
/** Record data shown on one line in the changes' table. */
const PREVIEW_CHARS = 120;

/** The counters the records chart shows, one series each. */
const RECORD_SERIES = [
  'inserted',
  'updated',
  'deleted',
  'unchanged',
] as const satisfies readonly (keyof RunCounters)[];
/** The counters the runs' table shows. */
const TABLE_COUNTERS = [
  'fetched',
  'inserted',
  'updated',
  'deleted',
  'unchanged',
  'failed',
] as const satisfies readonly (keyof RunCounters)[];

/** The badge of each kind of change (its text is the kind). */
const CHANGE_BADGE: Record<string, string> = { insert: 'new', update: 'ok', delete: 'failed' };

/** The stream page's path. */
export function streamPath(stream: string): string {
  return `/ui/streams/${encodeURIComponent(stream)}`;
}

/** The path of a record's versions. */
export function recordPath(stream: string, key: string): string {
  return `${streamPath(stream)}/records/${encodeURIComponent(key)}`;
}

/**
 * A JSON data block (`<script type="application/json">`: the policy lets it be, it never runs).
 * Its text is not HTML: entities would not be decoded, so the JSON itself is made safe instead,
 * `<`, `>` and `&` written as JSON escapes so nothing in it can close the element.
 */
export function jsonBlock(value: unknown): Html {
  const text = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return raw(`<script type="application/json">${text}</script>`);
}

/** A value of unknown shape, secrets hidden, as indented JSON (escaped by the caller's template). */
export function pretty(value: unknown): string {
  return JSON.stringify(maskSecrets(value), null, 2) ?? 'null';
}

/** `text` on one line, cut to `max` characters. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** An ISO time as the charts' axis shows it: `12-07 07:10` (UTC). */
function shortTime(iso: string): string {
  return iso.slice(5, 16).replace('T', ' ');
}

function durationOf(run: RunRecord): number | null {
  return run.endedAt === null
    ? null
    : Math.max(0, (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000);
}

/** The stream as `streams()` shows it; `NotFoundError` when the service knows no such stream. */
async function findStream(control: ServiceControl, name: string): Promise<StreamView> {
  const view = (await control.streams()).find((s) => s.stream === name);
  if (!view) throw new NotFoundError(`unknown stream "${name}": neither the config nor the store has it`);
  return view;
}

/** The run the backfill breaker paused, when the stream's last sync or reconciliation was one. */
function pausedRun(runs: readonly RunRecord[]): RunRecord | null {
  const last = runs.find((r) => r.mode === 'sync' || r.mode === 'reconcile');
  return last?.status === 'paused_backfill' ? last : null;
}

function facts(s: StreamView, nowMs: number): Html {
  const health = healthOf(s, nowMs);
  const failed = `/ui/failed?stream=${encodeURIComponent(s.stream)}`;
  const rows: [string, Html | string][] = [
    [
      'Status',
      html`${badge(health)}${s.state !== 'idle' && s.state !== health ? html` ${badge(s.state)}` : ''}`,
    ],
    ['Schedule', s.schedule ?? 'only when triggered'],
    ['Reconciliation', s.reconcileSchedule ?? 'only when triggered'],
    ['Next run', s.nextRunAt ? html`${s.nextRunMode ?? ''} ${when(s.nextRunAt, nowMs)}` : '–'],
    ['Lag', span(s.lagSeconds)],
    ['Freshness', span(s.freshnessSeconds)],
    ['Records', count(s.records)],
    [
      'Open dead letters',
      s.failedRecords > 0
        ? html`<a href="${failed}">${count(s.failedRecords)}</a>`
        : html`<a href="${failed}">0</a>`,
    ],
    [
      'Failures in a row',
      s.consecutiveFailures > 0
        ? html`${count(s.consecutiveFailures)}${s.backoffUntil ? html`, next try ${when(s.backoffUntil, nowMs)}` : ''}`
        : '0',
    ],
  ];
  return html`<dl class="facts">${rows.map(([label, value]) => html`<div><dt>${label}</dt><dd class="fact-value">${value}</dd></div>`)}</dl>`;
}

/** A value of the evidence: a scalar as text, anything else as indented JSON. */
function evidenceValue(value: unknown): Html {
  if (value === null || typeof value !== 'object') {
    return html`${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  return html`<pre>${JSON.stringify(value, null, 2)}</pre>`;
}

function approvePanel(stream: string, paused: RunRecord | null, nowMs: number): Html {
  const evidence = paused ? maskSecrets(paused.evidence) : null;
  const shown =
    evidence !== null && typeof evidence === 'object' && !Array.isArray(evidence)
      ? html`<dl class="evidence">${Object.entries(evidence).map(
          ([name, value]) =>
            html`<div><dt>${name}</dt><dd class="evidence-value">${evidenceValue(value)}</dd></div>`,
        )}</dl>`
      : evidence === null
        ? html`<p class="muted">The paused run left no evidence.</p>`
        : html`<pre>${pretty(evidence)}</pre>`;
  return html`<section class="panel approve" aria-labelledby="approve-title">
<h2 id="approve-title">Paused by the backfill breaker</h2>
${
  paused
    ? html`<p>Its ${paused.mode} run of ${when(paused.startedAt, nowMs)} stopped before writing: ${maskString(paused.error ?? 'no reason recorded')}</p>`
    : html`<p>The scheduler holds the stream; no paused run is among its latest runs.</p>`
}
<h3>Evidence</h3>
${shown}
<p>Approving lets the next runs write these changes, until one completes.</p>
<button type="button" hx-post="${streamPath(stream)}/approve" hx-target="#messages" hx-swap="innerHTML">Approve</button>
</section>`;
}

function chart(label: string, spec: object): Html {
  return html`<figure class="chart-box"><figcaption>${label}</figcaption><div class="chart" data-chart role="img" aria-label="${label}">${jsonBlock(spec)}</div></figure>`;
}

/** The chart specs (`data-chart`) of the runs, oldest left. */
export function runCharts(runs: readonly RunRecord[]): { records: object; duration: object } {
  const chronological = [...runs].reverse();
  const x = chronological.map((_, i) => i);
  const labels = Object.fromEntries(chronological.map((r, i) => [i, shortTime(r.startedAt)]));
  return {
    records: {
      kind: 'bars',
      x,
      labels,
      series: [...RECORD_SERIES],
      values: RECORD_SERIES.map((name) => chronological.map((r) => r.counters[name] ?? 0)),
      yLabel: 'records',
      height: 220,
    },
    duration: {
      kind: 'lines',
      x,
      labels,
      series: ['duration'],
      values: [chronological.map((r) => durationOf(r))],
      yLabel: 'seconds',
      height: 180,
    },
  };
}

function runsTable(runs: readonly RunRecord[], nowMs: number): Html {
  if (runs.length === 0) return html`<p class="muted">No runs yet.</p>`;
  return html`<div class="table-wrap"><table class="runs">
<caption class="sr-only">The latest runs, newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Mode</th><th scope="col">Status</th><th scope="col" class="num">Duration</th>${TABLE_COUNTERS.map(
    (name) => html`<th scope="col" class="num">${name}</th>`,
  )}<th scope="col">Error</th></tr></thead>
<tbody>${runs.map((r) => {
    const error = r.error === null ? null : maskString(r.error);
    const seconds = durationOf(r);
    return html`<tr data-run="${r.runId}">
<td>${when(r.startedAt, nowMs)}</td><td>${r.mode}</td><td>${badge(r.status)}</td>
<td class="num">${seconds === null ? 'running' : span(seconds)}</td>
${TABLE_COUNTERS.map((name) => html`<td class="num">${count(r.counters[name])}</td>`)}
<td class="error-cell">${error === null ? '' : html`<span title="${error}">${oneLine(error, ERROR_CHARS)}</span>`}</td>
</tr>`;
  })}</tbody></table></div>`;
}

function lastErrors(runs: readonly RunRecord[], nowMs: number): Html {
  const failed = runs.filter((r) => r.status === 'failed' && r.error !== null).slice(0, ERRORS_SHOWN);
  if (failed.length === 0)
    return html`<p class="muted">No failed run among the latest ${count(runs.length)}.</p>`;
  return html`<ul class="errors">${failed.map(
    (r) =>
      html`<li>${when(r.endedAt ?? r.startedAt, nowMs)} · ${r.mode}<pre>${maskString(r.error ?? '')}</pre></li>`,
  )}</ul>`;
}

function changesTable(stream: string, changes: readonly ChangeRow[], history: boolean, nowMs: number): Html {
  if (changes.length === 0) return html`<p class="muted">The change log holds no change of this stream.</p>`;
  return html`<div class="table-wrap"><table class="changes">
<caption class="sr-only">The stream's latest changes, newest first</caption>
<thead><tr><th scope="col" class="num">Seq</th><th scope="col">Kind</th><th scope="col">Key</th><th scope="col">When</th><th scope="col">Data now</th><th scope="col"><span class="sr-only">Versions</span></th></tr></thead>
<tbody>${changes.map((row) => {
    const data = row.data === undefined || row.data === null ? null : JSON.stringify(maskSecrets(row.data));
    return html`<tr data-seq="${row.seq}">
<td class="num">${row.seq}</td><td>${badge(CHANGE_BADGE[row.kind] ?? 'new', row.kind)}</td>
<td><code>${row.key}</code></td><td>${when(row.at, nowMs)}</td>
<td class="data-cell">${data === null ? html`<span class="muted">deleted</span>` : html`<code class="preview">${oneLine(data, PREVIEW_CHARS)}</code>`}</td>
<td>${history ? html`<a class="small" href="${recordPath(stream, row.key)}">Versions</a>` : ''}</td>
</tr>`;
  })}</tbody></table></div>`;
}

/**
 * The stream page's live part: what the stream is doing, the approval when the backfill breaker
 * paused it, the runs (charts and table), its checkpoint, its last errors and its latest changes.
 * It fetches itself again on each `streams` event of the live feed.
 */
/** The operator actions shown under the runs. */
const ACTIONS_SHOWN = 20;

/** What operators did to the stream (the action log), newest first: by whom, and what it answered. */
function actionsTable(actions: readonly RecordedAction[] | null, nowMs: number): Html {
  if (actions === null) return html`<p class="muted">The action log could not be read.</p>`;
  if (actions.length === 0) return html`<p class="muted">No operator action on this stream yet.</p>`;
  return html`<div class="table-wrap"><table class="actions-log">
<caption class="sr-only">Operator actions, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">Answer</th></tr></thead>
<tbody>${actions.map(
    (a) =>
      html`<tr data-action="${a.action}"><td>${when(a.at, nowMs)}</td><td>${a.action.replace(/_/g, ' ')}</td><td>${a.origin}</td><td>${String(maskSecrets(a.detail))}</td></tr>`,
  )}</tbody>
</table></div>`;
}

export async function streamFragment(control: ServiceControl, name: string, nowMs: number): Promise<Html> {
  const view = await findStream(control, name);
  const [runs, changes, actions] = await Promise.all([
    control.runs(name, CHART_RUNS),
    control.changes(name, CHANGES_SHOWN).catch(() => null),
    control.actions(name, ACTIONS_SHOWN).catch(() => null),
  ]);
  // Links to versions only for a stream that keeps them (asked of its newest changed key).
  const first = changes?.[0];
  const history =
    first !== undefined &&
    (await control.recordVersions(name, first.key, 1).then(
      () => true,
      () => false,
    ));
  const paused = pausedRun(runs);
  const charts = runCharts(runs);
  return html`<div id="stream" hx-get="/ui/fragments/streams/${encodeURIComponent(name)}" hx-trigger="sse:streams" hx-swap="outerHTML">
${facts(view, nowMs)}
${paused || view.state === 'paused' ? approvePanel(name, paused, nowMs) : ''}
<section aria-labelledby="runs-title">
<h2 id="runs-title">Runs</h2>
${
  runs.length === 0
    ? ''
    : html`<div class="charts">${chart(`Records per run, the last ${runs.length} runs`, charts.records)}${chart(`Duration per run in seconds, the last ${runs.length} runs`, charts.duration)}</div>`
}
${runsTable(runs.slice(0, TABLE_RUNS), nowMs)}
</section>
<section aria-labelledby="actions-title">
<h2 id="actions-title">Operator actions</h2>
${actionsTable(actions, nowMs)}
</section>
<div class="columns">
<section aria-labelledby="checkpoint-title">
<h2 id="checkpoint-title">Checkpoint</h2>
${view.checkpoint === null ? html`<p class="muted">None: the next run reads from the beginning.</p>` : html`<pre class="checkpoint">${pretty(view.checkpoint)}</pre>`}
</section>
<section aria-labelledby="errors-title">
<h2 id="errors-title">Last errors</h2>
${lastErrors(runs, nowMs)}
</section>
</div>
<section aria-labelledby="changes-title">
<h2 id="changes-title">Recent changes</h2>
${changes === null ? html`<p class="muted">The change log could not be read.</p>` : changesTable(name, changes, history, nowMs)}
</section>
</div>`;
}

function actions(stream: string): Html {
  const path = streamPath(stream);
  return html`<section class="panel stream-actions" aria-label="Actions">
<button type="button" hx-post="${path}/sync" hx-target="#messages" hx-swap="innerHTML">Sync now</button>
<button type="button" hx-post="${path}/reconcile" hx-target="#messages" hx-swap="innerHTML">Reconcile now</button>
<details class="reset">
<summary>Reset the checkpoint…</summary>
<form hx-post="${path}/reset" hx-target="#messages" hx-swap="innerHTML">
<p>Its next run reads the source from the beginning. Records are kept; re-reads write only changes.</p>
<label for="reset-confirm">Type <code>${stream}</code> to confirm</label>
<input id="reset-confirm" name="confirm" data-confirm="${stream}" autocomplete="off" spellcheck="false" required>
<button type="submit" class="danger" disabled>Reset</button>
</form>
</details>
</section>`;
}

/** The stream page's body: its name, the actions, then the live part. */
export async function streamBody(control: ServiceControl, name: string, nowMs: number): Promise<Html> {
  const live = await streamFragment(control, name, nowMs);
  return html`<p class="crumbs"><a href="/ui">Overview</a> /</p>
<h1>${name}</h1>
${actions(name)}
${live}`;
}

/** A field that differs between two versions of a record. */
export interface FieldChange {
  /** Its path: `address.city`, `tags[0]`; `(value)` for data that is not an object. */
  readonly field: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

/** Nesting deeper than this is compared as one value. */
const DIFF_DEPTH = 32;

function flatten(
  value: unknown,
  path: string,
  out: Map<string, unknown>,
  depth: number,
): Map<string, unknown> {
  const nested =
    value !== null &&
    typeof value === 'object' &&
    depth < DIFF_DEPTH &&
    (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0);
  if (!nested) {
    out.set(path === '' ? '(value)' : path, value);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) flatten(item, `${path}[${i}]`, out, depth + 1);
  } else {
    for (const [name, item] of Object.entries(value as object)) {
      flatten(item, path === '' ? name : `${path}.${name}`, out, depth + 1);
    }
  }
  return out;
}

/** The fields that differ from `before` to `after`, by path: the new version's order, then removed ones. */
export function diffRecords(before: unknown, after: unknown): FieldChange[] {
  const old = flatten(before, '', new Map(), 0);
  const now = flatten(after, '', new Map(), 0);
  const changes: FieldChange[] = [];
  for (const [field, value] of now) {
    if (!old.has(field)) changes.push({ field, change: 'added', after: value });
    else if (JSON.stringify(old.get(field)) !== JSON.stringify(value)) {
      changes.push({ field, change: 'changed', before: old.get(field), after: value });
    }
  }
  for (const [field, value] of old)
    if (!now.has(field)) changes.push({ field, change: 'removed', before: value });
  return changes;
}

/** A field's value as the diff shows it: JSON, hidden when a part of its path is named like a secret. */
function shownValue(field: string, value: unknown): string {
  if (field.split(/[.[\]]/).some((part) => part !== '' && isSecretName(part))) return MASK;
  return JSON.stringify(maskSecrets(value)) ?? 'null';
}

function diffTable(changes: readonly FieldChange[]): Html {
  if (changes.length === 0) return html`<p class="muted">No field changed.</p>`;
  return html`<div class="table-wrap"><table class="diff">
<thead><tr><th scope="col">Field</th><th scope="col">Change</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
<tbody>${changes.map(
    (c) => html`<tr class="diff-${c.change}"><th scope="row"><code>${c.field}</code></th><td>${c.change}</td>
<td>${c.change === 'added' ? '' : html`<code class="before">${shownValue(c.field, c.before)}</code>`}</td>
<td>${c.change === 'removed' ? '' : html`<code class="after">${shownValue(c.field, c.after)}</code>`}</td></tr>`,
  )}</tbody></table></div>`;
}

/** A record's versions, newest first, each with what changed from the one before it. */
export function versionsBody(
  stream: string,
  key: string,
  versions: readonly RecordVersion[],
  nowMs: number,
): Html {
  return html`<p class="crumbs"><a href="/ui">Overview</a> / <a href="${streamPath(stream)}">${stream}</a> /</p>
<h1>Record <code>${key}</code></h1>
<p class="muted">${count(versions.length)} ${versions.length === 1 ? 'version' : 'versions'}, newest first${versions.length >= VERSIONS_SHOWN ? ` (the latest ${VERSIONS_SHOWN}; older ones are not shown)` : ''}.</p>
${versions.map((v, i) => {
  const previous = versions[i + 1];
  return html`<section class="panel version" aria-label="Version from ${v.validFrom}">
<h2>${v.validTo === null ? 'Current version' : 'Version'} ${badge(v.deleted ? 'failed' : 'ok', v.deleted ? 'deleted' : 'live')}</h2>
<p class="muted">From ${when(v.validFrom, nowMs)}${v.validTo ? html` to ${when(v.validTo, nowMs)}` : ''} · run <code>${v.runId}</code> · hash <code>${v.hash.slice(0, 16)}</code>${v.version === null ? '' : html` · version <code>${v.version}</code>`}</p>
${
  previous
    ? html`${previous.deleted !== v.deleted ? html`<p>${v.deleted ? 'Deleted' : 'Restored'} in this version.</p>` : ''}${diffTable(diffRecords(previous.data, v.data))}`
    : html`<p class="muted">The oldest version kept: nothing to compare it with.</p>`
}
<details><summary>Its data</summary><pre>${pretty(v.data)}</pre></details>
</section>`;
})}`;
}

/** A page that says what is missing, answered 404. */
function notFound(
  ctx: DashboardContext,
  c: Context,
  title: string,
  error: unknown,
  back: string,
): Promise<Response> | Response {
  c.status(404);
  return ctx.render(
    c,
    title,
    '/ui',
    html`<h1>${title}</h1>${message('error', describeError(error))}<p><a href="${back}">Back</a></p>`,
  );
}

/** The stream page's routes: the page, its live fragment, a record's versions, approve and reset. */
export function registerStreamPage(app: Hono, ctx: DashboardContext): void {
  const { control } = ctx;
  /** A read that fails for any reason but a missing stream or record is the server's error. */
  const missing = (error: unknown) => toApiError(error).status === 404;

  app.get('/ui/streams/:name', async (c) => {
    const name = c.req.param('name');
    try {
      return await ctx.render(c, name, '/ui', await streamBody(control, name, Date.now()));
    } catch (error) {
      if (!missing(error)) throw error;
      return notFound(ctx, c, 'Unknown stream', error, '/ui');
    }
  });

  app.get('/ui/fragments/streams/:name', async (c) => {
    const name = c.req.param('name');
    try {
      return c.html(await streamFragment(control, name, Date.now()));
    } catch (error) {
      if (!missing(error)) throw error;
      return c.html(message('error', describeError(error)), 404);
    }
  });

  app.get('/ui/streams/:name/records/:key', async (c) => {
    const name = c.req.param('name');
    const key = c.req.param('key');
    try {
      const versions = await control.recordVersions(name, key, VERSIONS_SHOWN);
      return await ctx.render(c, `${key} · ${name}`, '/ui', versionsBody(name, key, versions, Date.now()));
    } catch (error) {
      if (!missing(error)) throw error;
      return notFound(ctx, c, 'No versions to show', error, streamPath(name));
    }
  });

  app.post('/ui/streams/:name/approve', (c) =>
    ctx.act(c, async () => (await control.approve(c.req.param('name'), 'dashboard')).message),
  );

  app.post('/ui/streams/:name/reset', (c) =>
    ctx.act(c, async () => {
      const name = c.req.param('name');
      const form = await c.req.parseBody();
      if (form['confirm'] !== name) {
        throw new ApiError(
          400,
          'bad_request',
          `type the stream's name "${name}" to confirm the reset; nothing was reset`,
        );
      }
      return (await control.reset(name, 'dashboard')).message;
    }),
  );
}
