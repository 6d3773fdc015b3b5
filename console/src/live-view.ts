// The Live view: request rate, latency, queries by type, cache hit rate and memory over the last minutes, as small
// uPlot charts fed by the server's JSON summary (sampled from its own metrics), polled while the view is open.
import type uPlot from 'uplot';
import { api, type LiveSummary } from './api.js';
import { errorText } from './collections-view.js';
import { formatBytes, formatNumber, h, replace, statusArea } from './dom.js';
import type { View } from './state.js';

const POLL_MS = 2000;
const MiB = 1024 * 1024;

/** One chart: its title, series names and how to read them from the summary. */
interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  series: string[];
  data(s: LiveSummary['series']): Array<Array<number | null>>;
  /** The latest values as text (charts are pictures; the numbers are also read out). */
  latest(s: LiveSummary['series']): string;
}

const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

const CHARTS: ChartSpec[] = [
  {
    id: 'requests', title: 'Requests per second', unit: 'req/s', series: ['requests/s'],
    data: (s) => [s.requests_per_s], latest: (s) => `${formatNumber(last(s.requests_per_s), 1)} req/s`,
  },
  {
    id: 'latency', title: 'Latency p50 / p99', unit: 'ms', series: ['p50 ms', 'p99 ms'],
    data: (s) => [s.p50_ms, s.p99_ms], latest: (s) => `p50 ${formatNumber(last(s.p50_ms), 2)} ms, p99 ${formatNumber(last(s.p99_ms), 2)} ms`,
  },
  {
    id: 'queries', title: 'Queries per second by type', unit: 'q/s', series: ['vector', 'hybrid'],
    data: (s) => [s.queries_per_s.vector, s.queries_per_s.hybrid],
    latest: (s) => `vector ${formatNumber(last(s.queries_per_s.vector), 1)}/s, hybrid ${formatNumber(last(s.queries_per_s.hybrid), 1)}/s`,
  },
  {
    id: 'cache', title: 'Query cache hit rate', unit: '%', series: ['hit rate %'],
    data: (s) => [s.cache_hit_rate.map((x) => (x === null ? null : x * 100))],
    latest: (s) => { const x = last(s.cache_hit_rate); return x === null || x === undefined ? 'no lookups' : `${formatNumber(x * 100, 1)} %`; },
  },
  {
    id: 'memory', title: 'Memory', unit: 'MiB', series: ['RSS MiB', 'JS heap MiB', 'array buffers MiB'],
    data: (s) => [s.rss_bytes, s.heap_used_bytes, s.array_buffers_bytes].map((xs) => xs.map((x) => x / MiB)),
    latest: (s) => `RSS ${formatBytes(last(s.rss_bytes) ?? 0)}, heap ${formatBytes(last(s.heap_used_bytes) ?? 0)}, array buffers ${formatBytes(last(s.array_buffers_bytes) ?? 0)}`,
  },
];

/** Colour-blind-safe pairs with 3:1 contrast against white (Okabe–Ito). */
const COLOURS = ['#0072B2', '#D55E00', '#009E73'];

export class LiveView implements View {
  readonly id = 'live';
  readonly title = 'Live';
  readonly element: HTMLElement;
  private readonly error = statusArea('alert');
  private readonly note = h('p', { class: 'hint' });
  private readonly boxes = new Map<string, { plot: HTMLElement; latest: HTMLElement; chart?: uPlot }>();
  private timer: number | undefined;
  /** The x axis: the summary's whole window, ending at its latest sample (a fresh server's few points sit at the right). */
  private window = 300;
  private end = 0;

  constructor() {
    const grid = h('div', { class: 'charts' });
    for (const spec of CHARTS) {
      const plot = h('div', { class: 'plot', role: 'img', 'aria-label': `${spec.title} over the last minutes` });
      const latest = h('p', { class: 'latest', 'data-chart': spec.id });
      this.boxes.set(spec.id, { plot, latest });
      grid.append(h('figure', { id: `chart-${spec.id}` }, h('figcaption', {}, spec.title), plot, latest));
    }
    this.element = h('section', { id: 'view-live', 'aria-labelledby': 'h-live' }, h('h2', { id: 'h-live' }, 'Live'), this.note, this.error, grid);
  }

  show(): void {
    void this.poll();
    this.timer = window.setInterval(() => void this.poll(), POLL_MS);
  }

  hide(): void {
    window.clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    let summary: LiveSummary;
    try {
      summary = await api.summary();
      replace(this.error);
    } catch (err) {
      replace(this.error, errorText(err));
      return;
    }
    this.window = summary.window_s;
    this.end = summary.series.t[summary.series.t.length - 1] ?? Math.round(Date.now() / 1000);
    replace(this.note, `Sampled every ${summary.interval_s} s over the last ${summary.window_s / 60} minutes; the console's own polling is not counted.`);
    const s = summary.series;
    for (const spec of CHARTS) {
      const box = this.boxes.get(spec.id)!;
      replace(box.latest, s.t.length === 0 ? 'waiting for the first sample…' : spec.latest(s));
      this.draw(spec, box, [s.t, ...spec.data(s)]);
    }
  }

  private draw(spec: ChartSpec, box: { plot: HTMLElement; chart?: uPlot }, data: Array<Array<number | null>>): void {
    const UPlot = (globalThis as unknown as { uPlot?: typeof uPlot }).uPlot;
    if (!UPlot) {
      replace(box.plot, 'Charts need uPlot, which this server could not find.');
      return;
    }
    if (box.chart) {
      box.chart.setData(data as uPlot.AlignedData);
      return;
    }
    const options: uPlot.Options = {
      width: 340,
      height: 150,
      // Series names only: the latest values are written under each chart.
      legend: { show: true, live: false },
      cursor: { show: true },
      axes: [{ stroke: '#333' }, { stroke: '#333', size: 50 }],
      series: [{}, ...spec.series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: false }))],
      scales: { x: { time: true, range: (): uPlot.Range.MinMax => [this.end - this.window, this.end] }, y: { range: (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    };
    box.chart = new UPlot(options, data as uPlot.AlignedData, box.plot);
  }
}
