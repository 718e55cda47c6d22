import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { WorkerView } from '../../core/store.ts';
import type { ServiceControl } from '../../runtime/service-types.ts';
import type { DashboardContext } from './dashboard-app.ts';
import { badge, count, type Html, when } from './dashboard-html.ts';

/** The live part: the cluster's workers, oldest first. */
export async function workersFragment(control: ServiceControl, nowMs: number): Promise<Html> {
  const workers = await control.workers();
  return html`<div id="workers" hx-get="/ui/fragments/workers" hx-trigger="sse:workers" hx-swap="outerHTML">
${
  workers.length === 0
    ? html`<div class="panel empty"><p>This store runs on one machine: workers are listed when syncline run uses a PostgreSQL store (see README "Scale out").</p></div>`
    : html`<div class="table-wrap">
<table class="workers">
<caption class="sr-only">Workers of the cluster, oldest first</caption>
<thead><tr><th scope="col">Host</th><th scope="col" class="num">Pid</th><th scope="col">Version</th><th scope="col" class="num">Schema</th><th scope="col">Started</th><th scope="col">Last heartbeat</th><th scope="col">Status</th><th scope="col" class="num">Concurrency</th><th scope="col">Running</th></tr></thead>
<tbody>${workers.map((w) => workerRow(w, nowMs))}</tbody>
</table>
</div>`
}
</div>`;
}

function workerRow(w: WorkerView, nowMs: number): Html {
  return html`<tr data-worker="${w.id}">
<th scope="row">${w.host}</th>
<td class="num">${w.pid}</td>
<td>${w.version}</td>
<td class="num">${w.schemaVersion}</td>
<td>${when(w.startedAt, nowMs)}</td>
<td>${when(w.heartbeatAt, nowMs)}</td>
<td>${w.live ? badge('live') : badge('silent')}</td>
<td class="num">${count(w.concurrency)}</td>
<td>${
    w.running.length === 0
      ? html`<span class="muted">idle</span>`
      : html`<ul class="jobs">${w.running.map((r) => html`<li>${r.job}${r.mode ? ` (${r.mode})` : ''} ${when(r.startedAt, nowMs)}</li>`)}</ul>`
  }</td>
</tr>`;
}

/** The workers' routes: the page and its live fragment. */
export function registerWorkers(app: Hono, ctx: DashboardContext): void {
  app.get('/ui/workers', async (c) =>
    ctx.render(
      c,
      'Workers',
      '/ui/workers',
      html`<h1>Workers</h1>
<p class="hint">Every <code>syncline run</code> on a PostgreSQL store is a worker: they share the streams' runs and the sinks' deliveries. A worker without a heartbeat for its timeout is silent: the others take its jobs over.</p>
${await workersFragment(ctx.control, Date.now())}`,
    ),
  );
  app.get('/ui/fragments/workers', async (c) => c.html(await workersFragment(ctx.control, Date.now())));
}
