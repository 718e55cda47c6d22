import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { RunRecord } from '../../core/types.ts';
import type { ServiceControl, StreamView } from '../../runtime/service-types.ts';
import type { DashboardContext } from './dashboard-app.ts';
import { badge, count, type Html, span, sparkline, when } from './dashboard-html.ts';

/** Rows per page of the overview: a page stays quick with hundreds of streams. */
export const PAGE_SIZE = 50;
/** A stream whose next run is overdue by more than this is late. */
const LATE_AFTER_MS = 60_000;
/** Runs the records/s sparkline spans. */
const SPARK_RUNS = 12;

/** What the overview says of a stream, worst first. */
export const HEALTH_ORDER = ['failing', 'paused', 'late', 'running', 'queued', 'new', 'ok'] as const;
export type Health = (typeof HEALTH_ORDER)[number];

export function healthOf(s: StreamView, nowMs: number): Health {
  if (s.state === 'paused') return 'paused';
  if (s.consecutiveFailures > 0 || s.state === 'backing_off' || s.lastRun?.status === 'failed')
    return 'failing';
  if (s.state === 'running') return 'running';
  if (s.nextRunAt !== null && nowMs - Date.parse(s.nextRunAt) > LATE_AFTER_MS) return 'late';
  if (s.state === 'queued') return 'queued';
  if (s.lastRun === null) return 'new';
  return 'ok';
}

/** Records read per second of each finished run, oldest first. */
function ratesOf(runs: readonly RunRecord[]): number[] {
  return runs
    .filter((r) => r.endedAt !== null)
    .reverse()
    .map((r) => {
      const seconds = Math.max(0.001, (Date.parse(r.endedAt!) - Date.parse(r.startedAt)) / 1000);
      return r.counters.fetched / seconds;
    });
}

export interface OverviewQuery {
  readonly page: number;
  readonly q: string;
}

/** The overview's query string, as the page's links and its live refresh carry it. */
export function overviewSearch(query: OverviewQuery): string {
  const params = new URLSearchParams();
  if (query.page > 1) params.set('page', String(query.page));
  if (query.q !== '') params.set('q', query.q);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * The overview's live part: totals, then one row per stream (late or failing first), a page of
 * `PAGE_SIZE` at a time. It fetches itself again on each `streams` event of the live feed.
 */
export async function overviewFragment(
  control: ServiceControl,
  query: OverviewQuery,
  nowMs: number,
): Promise<Html> {
  const all = await control.streams();
  const health = new Map(all.map((s) => [s.stream, healthOf(s, nowMs)]));
  const rank = (s: StreamView) => HEALTH_ORDER.indexOf(health.get(s.stream)!);
  const needle = query.q.trim().toLowerCase();
  const matching = all
    .filter((s) => needle === '' || s.stream.toLowerCase().includes(needle))
    .sort((a, b) => rank(a) - rank(b) || a.stream.localeCompare(b.stream));
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const pageNo = Math.min(Math.max(1, query.page), pages);
  const shown = matching.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
  const runs = await Promise.all(shown.map((s) => control.runs(s.stream, SPARK_RUNS).catch(() => [])));
  const tally = (h: Health) => all.filter((s) => health.get(s.stream) === h).length;
  const totals: [string, string, string][] = [
    ['streams', count(all.length), ''],
    ['failing', count(tally('failing')), tally('failing') > 0 ? 'bad' : ''],
    ['paused', count(tally('paused')), tally('paused') > 0 ? 'warn' : ''],
    ['late', count(tally('late')), tally('late') > 0 ? 'warn' : ''],
    ['running', count(tally('running')), ''],
    ['records', count(all.reduce((n, s) => n + s.records, 0)), ''],
    ['open dead letters', count(all.reduce((n, s) => n + s.failedRecords, 0)), ''],
  ];
  const search = overviewSearch({ page: pageNo, q: query.q });
  return html`<div id="overview" hx-get="/ui/fragments/overview${search}" hx-trigger="sse:streams" hx-swap="outerHTML">
<dl class="totals">${totals.map(
    ([label, value, tone]) =>
      html`<div class="total ${tone}"><dt>${label}</dt><dd data-total="${label}">${value}</dd></div>`,
  )}</dl>
<div class="table-wrap">
<table class="streams">
<caption class="sr-only">Streams, failing and late first</caption>
<thead><tr><th scope="col">Stream</th><th scope="col">Status</th><th scope="col">Lag</th><th scope="col">Fresh</th><th scope="col">Last run</th><th scope="col">Next run</th><th scope="col" class="num">Records</th><th scope="col">Records/s</th><th scope="col" class="num">Dead letters</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${shown.map((s, i) => {
    const rates = ratesOf(runs[i]!);
    const h = health.get(s.stream)!;
    const path = `/ui/streams/${encodeURIComponent(s.stream)}`;
    return html`<tr data-stream="${s.stream}">
<th scope="row"><a href="${path}">${s.stream}</a></th>
<td>${badge(h)}${s.state !== 'idle' && s.state !== h ? html` ${badge(s.state)}` : ''}</td>
<td>${span(s.lagSeconds)}</td>
<td>${span(s.freshnessSeconds)}</td>
<td>${s.lastRun ? html`${badge(s.lastRun.status)} ${when(s.lastRun.endedAt ?? s.lastRun.startedAt, nowMs)}` : html`<span class="muted">never</span>`}</td>
<td>${s.nextRunAt ? html`${s.nextRunMode ?? ''} ${when(s.nextRunAt, nowMs)}` : html`<span class="muted">–</span>`}</td>
<td class="num" data-records>${count(s.records)}</td>
<td>${sparkline(rates, `records per second over the last ${rates.length} runs: ${rates.map((r) => Math.round(r)).join(', ')}`)}</td>
<td class="num">${s.failedRecords > 0 ? html`<a href="/ui/failed?stream=${encodeURIComponent(s.stream)}">${count(s.failedRecords)}</a>` : '0'}</td>
<td class="actions"><button type="button" class="small" hx-post="${path}/sync" hx-target="#messages" hx-swap="innerHTML" aria-label="Sync ${s.stream} now">Sync</button></td>
</tr>`;
  })}</tbody>
</table>
</div>
${shown.length === 0 ? html`<p class="muted">${all.length === 0 ? 'No streams in the config or the store yet.' : 'No stream matches the filter.'}</p>` : ''}
${pager(pageNo, pages, query.q, matching.length)}
</div>`;
}

function pager(pageNo: number, pages: number, q: string, total: number): Html {
  if (pages <= 1) return html``;
  const link = (n: number, label: string) =>
    html`<a href="/ui${overviewSearch({ page: n, q })}"${n === pageNo ? html` aria-current="page"` : ''}>${label}</a>`;
  return html`<nav class="pager" aria-label="Pages of streams">
${pageNo > 1 ? link(pageNo - 1, 'Previous') : ''}
<span>page ${pageNo} of ${pages} (${count(total)} streams)</span>
${pageNo < pages ? link(pageNo + 1, 'Next') : ''}
</nav>`;
}

/** The overview page's body: a filter, then the live fragment. */
export async function overviewBody(
  control: ServiceControl,
  query: OverviewQuery,
  nowMs: number,
): Promise<Html> {
  return html`<h1>Overview</h1>
<form class="filter" role="search" method="get" action="/ui">
<label for="q">Filter streams</label>
<input id="q" name="q" type="search" value="${query.q}" autocomplete="off">
<button type="submit">Filter</button>
</form>
${await overviewFragment(control, query, nowMs)}`;
}

/** The overview's routes: the page (`/ui`) and its live fragment. */
export function registerOverview(app: Hono, ctx: DashboardContext): void {
  const queryOf = (c: Context): OverviewQuery => ({
    page: Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1),
    q: (c.req.query('q') ?? '').slice(0, 200),
  });
  app.get('/ui', async (c) =>
    ctx.render(c, 'Overview', '/ui', await overviewBody(ctx.control, queryOf(c), Date.now())),
  );
  app.get('/ui/fragments/overview', async (c) =>
    c.html(await overviewFragment(ctx.control, queryOf(c), Date.now())),
  );
}
