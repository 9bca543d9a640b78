import { type Html, html } from './html.js';

/*
 * Hand-written SVG charts, drawn on the server: no script, no library, no inline style (colours
 * come from classes in console.css, so the strict CSP holds). Each chart is an `img` with a
 * title and a description for screen readers, followed by the same numbers as a table.
 */

export interface Series {
  name: string;
}

export interface Bucket {
  /** Axis label (a minute, an hour). */
  label: string;
  /** One value per series, stacked bottom-up in series order. */
  values: number[];
}

let chartSeq = 0;
const nextId = () => {
  chartSeq = (chartSeq + 1) % 1_000_000;
  return `chart-${chartSeq}`;
};

/** A round upper bound for the axis: 1, 2, 5 × 10^n. */
function niceMax(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function legend(series: readonly Series[]): Html {
  return html`<ul class="legend">${series.map(
    (s, i) => html`<li><span class="swatch s${i % 10}" aria-hidden="true"></span>${s.name}</li>`,
  )}</ul>`;
}

/**
 * Stacked columns over time (sessions created per minute, ended per minute by reason).
 *
 * @example
 * columnChart({ title: 'Created', series: [{ name: 'created' }], buckets })
 */
export function columnChart(options: {
  title: string;
  description: string;
  series: readonly Series[];
  buckets: readonly Bucket[];
  /** Show every n-th label on the axis. @default 10 */
  labelEvery?: number;
}): Html {
  const { title, description, series, buckets, labelEvery = 10 } = options;
  const id = nextId();
  const width = 720;
  const height = 200;
  const left = 40;
  const bottom = 24;
  const top = 8;
  const plotHeight = height - bottom - top;
  const totals = buckets.map((b) => b.values.reduce((a, v) => a + v, 0));
  const max = niceMax(Math.max(0, ...totals));
  const step = (width - left - 8) / Math.max(1, buckets.length);
  const barWidth = Math.max(1, step * 0.75);
  const y = (v: number) => top + plotHeight - (v / max) * plotHeight;
  const bars = buckets.map((bucket, i) => {
    let base = 0;
    const x = left + i * step + (step - barWidth) / 2;
    return bucket.values.map((value, s) => {
      if (value <= 0) return '';
      const rect = html`<rect class="s${s % 10}" x="${x.toFixed(1)}" y="${y(base + value).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(y(base) - y(base + value)).toFixed(1)}"><title>${bucket.label}: ${value} ${series[s]?.name ?? ''}</title></rect>`;
      base += value;
      return rect;
    });
  });
  const labels = buckets.map((bucket, i) =>
    i % labelEvery === 0
      ? html`<text class="axis" x="${(left + i * step).toFixed(1)}" y="${height - 6}">${bucket.label}</text>`
      : '',
  );
  const rows = buckets
    .map((bucket, i) => ({ bucket, total: totals[i] ?? 0 }))
    .filter((row) => row.total > 0);
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d" class="chart-svg">
<title id="${id}-t">${title}</title><desc id="${id}-d">${description}</desc>
<line class="grid" x1="${left}" x2="${width - 8}" y1="${y(0)}" y2="${y(0)}"></line>
<line class="grid" x1="${left}" x2="${width - 8}" y1="${y(max)}" y2="${y(max)}"></line>
<text class="axis" x="2" y="${y(max) + 4}">${max}</text><text class="axis" x="2" y="${y(0)}">0</text>
${bars}${labels}
</svg>
<figcaption>${title}</figcaption>
${series.length > 1 ? legend(series) : ''}
<details><summary>Numbers</summary>
${
  rows.length === 0
    ? html`<p>Nothing in this period.</p>`
    : html`<table><thead><tr><th scope="col">When</th>${series.map((s) => html`<th scope="col">${s.name}</th>`)}</tr></thead>
<tbody>${rows.map(({ bucket }) => html`<tr><th scope="row">${bucket.label}</th>${bucket.values.map((v) => html`<td>${v}</td>`)}</tr>`)}</tbody></table>`
}
</details>
</figure>`;
}

/** Horizontal bars, one per label (live sessions by policy). */
export function barChart(options: {
  title: string;
  description: string;
  rows: ReadonlyArray<{ label: string; value: number }>;
}): Html {
  const { title, description, rows } = options;
  const id = nextId();
  const width = 720;
  const rowHeight = 28;
  const left = 110;
  const height = Math.max(1, rows.length) * rowHeight + 8;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const bars = rows.map((row, i) => {
    const w = ((width - left - 60) * row.value) / max;
    const yTop = 4 + i * rowHeight;
    return html`<text class="label" x="4" y="${yTop + 18}">${row.label}</text>
<rect class="s${i % 10}" x="${left}" y="${yTop + 4}" width="${Math.max(0, w).toFixed(1)}" height="${rowHeight - 10}"><title>${row.label}: ${row.value}</title></rect>
<text class="value" x="${(left + w + 6).toFixed(1)}" y="${yTop + 18}">${row.value}</text>`;
  });
  return html`<figure class="chart">
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}-t ${id}-d" class="chart-svg">
<title id="${id}-t">${title}</title><desc id="${id}-d">${description}</desc>
${rows.length === 0 ? html`<text class="label" x="4" y="20">No live sessions</text>` : bars}
</svg>
<figcaption>${title}</figcaption>
</figure>`;
}
