import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { DashboardAssets } from './dashboard-assets.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The pages of the top navigation, by path. */
const NAV = [
  ['/ui', 'Overview'],
  ['/ui/failed', 'Dead letters'],
  ['/ui/sinks', 'Sinks and destinations'],
  ['/ui/workers', 'Workers'],
] as const;

export interface PageFrame {
  readonly title: string;
  /** The navigation entry shown as current. */
  readonly path: string;
  readonly assets: DashboardAssets;
  /** The CSRF token htmx sends with every request of the page (`hx-headers`). */
  readonly csrf: string;
  /** Whether a logout button is shown (a login session, not a bearer header or an open dashboard). */
  readonly loggedIn: boolean;
}

/**
 * A whole page: the shell (navigation, live indicator, theme switch, message area) around `body`.
 * Every value is escaped by the `html` tag; nothing of a page runs inline (the Content-Security-
 * Policy allows only the dashboard's own files): behaviour is htmx attributes and dashboard.js.
 */
export function page(frame: PageFrame, body: Html): Html {
  const { assets } = frame;
  const htmxConfig = JSON.stringify({
    includeIndicatorStyles: false,
    allowEval: false,
    allowScriptTags: false,
    selfRequestsOnly: true,
    historyCacheSize: 0,
  });
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${htmxConfig}">
<meta name="color-scheme" content="light dark">
<title>${frame.title} · Syncline</title>
<link rel="stylesheet" href="${assets.url('uPlot.min.css')}">
<link rel="stylesheet" href="${assets.url('dashboard.css')}">
<script src="${assets.url('htmx.min.js')}" defer></script>
<script src="${assets.url('htmx-sse.min.js')}" defer></script>
<script src="${assets.url('uPlot.iife.min.js')}" defer></script>
<script src="${assets.url('dashboard.js')}" defer></script>
</head>
<body hx-ext="sse" sse-connect="/ui/live" hx-headers="${JSON.stringify({ 'X-CSRF-Token': frame.csrf })}">
<a class="skip" href="#main">Skip to the content</a>
<header class="top">
  <a class="brand" href="/ui">Syncline</a>
  <nav aria-label="Pages">${NAV.map(
    ([href, label]) =>
      html`<a href="${href}"${href === frame.path ? raw(' aria-current="page"') : ''}>${label}</a>`,
  )}</nav>
  <span class="top-tools">
    <span id="live" class="live" data-state="connecting" role="status" aria-live="polite">connecting</span>
    <button id="theme" type="button" class="ghost" aria-label="Switch between light and dark">Theme</button>
    ${
      frame.loggedIn
        ? html`<form method="post" action="/ui/logout" class="inline"><input type="hidden" name="_csrf" value="${frame.csrf}"><button type="submit" class="ghost">Log out</button></form>`
        : ''
    }
  </span>
</header>
<div id="messages" class="messages" role="status" aria-live="polite"></div>
<main id="main">
${body}
</main>
</body>
</html>`;
}

/** The answer to an action: one line, shown in the message area (htmx swaps it in). */
export function message(kind: 'ok' | 'error', text: string): Html {
  return html`<p class="message ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}

/** `n` with thousands separators. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString('en-US');
}

/** A length of time, short: `42 s`, `3 min`, `5 h`, `2 d`. */
export function span(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.abs(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A time relative to now: `3 min ago`, `in 20 s`, with the exact time as its title. */
export function when(iso: string | null | undefined, nowMs: number): Html {
  if (!iso) return html`<span class="muted">–</span>`;
  const seconds = (nowMs - Date.parse(iso)) / 1000;
  const text = seconds >= 0 ? `${span(seconds)} ago` : `in ${span(-seconds)}`;
  return html`<time datetime="${iso}" title="${iso}">${text}</time>`;
}

/** A small status label; its text says the status (colour is not the only sign). */
export function badge(kind: string, text = kind): Html {
  return html`<span class="badge badge-${kind.replace(/[^a-z_]/g, '')}">${text.replace(/_/g, ' ')}</span>`;
}

/**
 * A sparkline of `values` as inline SVG (no script): oldest left. Its label reads the values out
 * for screen readers.
 */
export function sparkline(values: readonly number[], label: string): Html {
  if (values.length < 2) return html`<span class="muted">–</span>`;
  const width = 96;
  const height = 22;
  const max = Math.max(...values, 1e-9);
  const step = width / (values.length - 1);
  const points = values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    .join(' ');
  return html`<svg class="spark" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${label}"><polyline points="${points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>`;
}
