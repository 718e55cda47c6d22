// The dashboard's behaviour beyond htmx attributes: the theme switch, the live indicator, and the
// charts (uPlot) of the pages that have any. Served as a file of its own: the Content-Security-Policy
// runs no inline script.
(() => {
  const root = document.documentElement;
  const THEME_KEY = 'syncline-theme';

  const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

  /** The theme: the switch's choice (kept in localStorage), else the system's. */
  function applyTheme() {
    const chosen = localStorage.getItem(THEME_KEY);
    root.dataset.theme =
      chosen === 'light' || chosen === 'dark' ? chosen : systemDark.matches ? 'dark' : 'light';
  }
  applyTheme();
  systemDark.addEventListener('change', () => {
    applyTheme();
    drawCharts(document);
  });

  function setLive(state, text) {
    const live = document.getElementById('live');
    if (!live || live.dataset.state === state) return;
    live.dataset.state = state;
    live.textContent = text;
  }

  /** Charts: an element with data-chart and a JSON block (type application/json) inside it. */
  function drawCharts(scope) {
    if (typeof window.uPlot !== 'function') return;
    for (const box of scope.querySelectorAll('[data-chart]')) {
      const data = box.querySelector('script[type="application/json"]');
      if (!data || box.dataset.drawn === data.textContent) continue;
      box.dataset.drawn = data.textContent;
      for (const old of box.querySelectorAll('.uplot')) old.remove();
      const spec = JSON.parse(data.textContent);
      const css = getComputedStyle(root);
      const colors = spec.series.map((_, i) => css.getPropertyValue(`--chart-${i + 1}`).trim() || '#888');
      const axis = {
        stroke: css.getPropertyValue('--muted').trim(),
        grid: { stroke: css.getPropertyValue('--line').trim() },
      };
      const bars = window.uPlot.paths?.bars ? window.uPlot.paths.bars({ size: [0.7, 40] }) : undefined;
      new window.uPlot(
        {
          width: Math.max(280, box.clientWidth || 600),
          height: spec.height || 220,
          scales: { x: { time: false } },
          axes: [
            { ...axis, values: (_, ticks) => ticks.map((t) => spec.labels[t] ?? '') },
            { ...axis, label: spec.yLabel || '' },
          ],
          series: [
            { label: spec.xLabel || 'run' },
            ...spec.series.map((name, i) => ({
              label: name,
              stroke: colors[i],
              fill: spec.kind === 'bars' ? colors[i] : undefined,
              paths: spec.kind === 'bars' ? bars : undefined,
              width: 2,
            })),
          ],
        },
        [spec.x, ...spec.values],
        box,
      );
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    const button = document.getElementById('theme');
    if (button) {
      button.addEventListener('click', () => {
        localStorage.setItem(THEME_KEY, root.dataset.theme === 'dark' ? 'light' : 'dark');
        applyTheme();
        drawCharts(document);
      });
    }
    document.body.addEventListener('htmx:sseOpen', () => setLive('live', 'live'));
    document.body.addEventListener('htmx:sseError', () => setLive('reconnecting', 'reconnecting'));
    document.body.addEventListener('htmx:sseClose', () => setLive('reconnecting', 'reconnecting'));
    document.body.addEventListener('htmx:afterSwap', (event) => drawCharts(event.target));
    // A confirmation typed into a field (reset): its button is enabled once the text matches.
    document.body.addEventListener('input', (event) => {
      const field = event.target;
      if (!(field instanceof HTMLInputElement) || !field.dataset.confirm) return;
      const submit = field.form?.querySelector('button[type="submit"]');
      if (submit) submit.disabled = field.value !== field.dataset.confirm;
    });
    drawCharts(document);
  });
})();
