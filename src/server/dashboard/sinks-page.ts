import type { Hono } from 'hono';
import { html } from 'hono/html';
import type { ServiceControl, SinkView } from '../../runtime/service-types.ts';
import type { DashboardContext } from './dashboard-app.ts';
import { badge, count, type Html, when } from './dashboard-html.ts';

/**
 * A sink's lag: changes the log holds that its target has not confirmed (the change log's highest
 * seq minus the sink's offset; seqs may have gaps on PostgreSQL, so it is at most that many).
 */
export function sinkLag(highestSeq: number, offset: number): number {
  return Math.max(0, highestSeq - offset);
}

/**
 * A destination's records written per minute since `sinceMs` (when the dashboard was mounted,
 * with the service: its write totals count from the service's start); null for a sink (no totals).
 */
export function deliveryRate(sink: SinkView, sinceMs: number, nowMs: number): number | null {
  if (sink.writes === undefined) return null;
  const minutes = Math.max(1 / 60, (nowMs - sinceMs) / 60_000);
  return sink.writes.ok / minutes;
}

function rateText(rate: number | null): string {
  if (rate === null) return '–';
  return `${rate >= 10 ? count(Math.round(rate)) : rate.toFixed(1)}/min`;
}

function errorRateText(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '–';
  return `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)}%`;
}

/** The live part: one row per sink and destination, with their actions. */
export async function sinksFragment(control: ServiceControl, sinceMs: number, nowMs: number): Promise<Html> {
  const [sinks, highest] = await Promise.all([control.sinks(), control.changeLogHighestSeq()]);
  return html`<div id="sinks" hx-get="/ui/fragments/sinks" hx-trigger="sse:sinks" hx-swap="outerHTML">
${
  sinks.length === 0
    ? html`<div class="panel empty">
<p>This config has no sinks or destinations.</p>
<p class="hint">To push changes out, add a <code>sinks:</code> entry (a webhook, Redis Streams, NATS or sse sink) or a <code>destinations:</code> entry to the config, then restart <code>syncline run</code>. See README "Events" (sinks) and "Destinations".</p>
</div>`
    : html`<div class="table-wrap">
<table class="sinks">
<caption class="sr-only">Sinks and destinations</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col" class="num">Offset</th><th scope="col" class="num">Lag</th><th scope="col" class="num">Delivered</th><th scope="col" class="num">Errors</th><th scope="col">Last error</th><th scope="col">Failing since</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${sinks.map((s) => sinkRow(s, highest, sinceMs, nowMs))}</tbody>
</table>
</div>`
}
</div>`;
}

function sinkRow(s: SinkView, highest: number, sinceMs: number, nowMs: number): Html {
  const path = `/ui/sinks/${encodeURIComponent(s.name)}`;
  return html`<tr data-sink="${s.name}">
<th scope="row">${s.name}</th>
<td>${s.kind}</td>
<td>${badge(s.state)}</td>
<td class="num">${count(s.offset)}</td>
<td class="num" data-lag>${count(sinkLag(highest, s.offset))}</td>
<td class="num">${rateText(deliveryRate(s, sinceMs, nowMs))}</td>
<td class="num">${errorRateText(s.errorRate)}</td>
<td class="reason">${s.lastError ?? html`<span class="muted">–</span>`}</td>
<td>${when(s.failingSince, nowMs)}</td>
<td class="actions">${
    s.state === 'paused'
      ? html`<button type="button" class="small" hx-post="${path}/resume" hx-target="#messages" hx-swap="innerHTML" aria-label="Resume ${s.name}">Resume</button> `
      : ''
  }<button type="button" class="small ghost" hx-post="${path}/replay" hx-target="#messages" hx-swap="innerHTML" aria-label="Replay the dead letters of ${s.name}">Replay dead letters</button></td>
</tr>`;
}

/** The control's one-line answer as a sentence of the message area. */
export function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** The sinks' routes: the page, its live fragment, resume and replay. */
export function registerSinks(app: Hono, ctx: DashboardContext): void {
  // A destination's write totals count from the service's start; the dashboard is mounted with it.
  const sinceMs = Date.now();
  app.get('/ui/sinks', async (c) =>
    ctx.render(
      c,
      'Sinks and destinations',
      '/ui/sinks',
      html`<h1>Sinks and destinations</h1>
<p class="hint">Where changes are pushed to. Lag: changes not yet confirmed by the target (the change log's newest seq minus the offset). Delivered: records written per minute since the service started; errors: retried and refused records of the last 5 minutes.</p>
${await sinksFragment(ctx.control, sinceMs, Date.now())}`,
    ),
  );
  app.get('/ui/fragments/sinks', async (c) => c.html(await sinksFragment(ctx.control, sinceMs, Date.now())));
  app.post('/ui/sinks/:name/resume', (c) =>
    ctx.act(c, async () =>
      sentence((await ctx.control.resumeSink(c.req.param('name'), 'dashboard')).message),
    ),
  );
  app.post('/ui/sinks/:name/replay', (c) =>
    ctx.act(c, async () =>
      sentence((await ctx.control.replaySink(c.req.param('name'), {}, 'dashboard')).message),
    ),
  );
}
