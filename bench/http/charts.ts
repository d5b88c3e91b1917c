// SVG charts with Apache ECharts' server-side renderer: no browser, no DOM,
// one self-contained SVG per chart that opens in a browser and renders on GitHub.

import * as echarts from 'echarts';
import type { CaseResult } from './results.js';

export interface Chart {
  file: string;
  title: string;
  svg: string;
}

const WIDTH = 1000;
const FONT = { fontFamily: 'Helvetica, Arial, sans-serif' };

function render(option: echarts.EChartsOption, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    // GitHub shows SVGs as images: a white background keeps them readable in dark mode
    chart.setOption({ animation: false, backgroundColor: '#ffffff', textStyle: FONT, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const shortLabel = (c: CaseResult): string => c.label.replace(/^GET /, '').replace(/^POST \/add /, 'POST ');
const kindsInOrder = (cases: readonly CaseResult[]): string[] => [...new Set(cases.map(shortLabel))];

/** Requests per second by case (x) and size (one bar series per n); failed cases are left out. */
export function requestsChart(cases: readonly CaseResult[]): Chart {
  const labels = kindsInOrder(cases);
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const title = 'Requests per second by mode and size (checked answers only; higher is better)';
  const svg = render(
    {
      title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
      legend: { top: 40 },
      grid: { left: 70, right: 20, top: 90, bottom: 150 },
      xAxis: { type: 'category', data: labels, axisLabel: { rotate: 35, interval: 0, fontSize: 11 } },
      yAxis: { type: 'value', name: 'req/s' },
      series: sizes.map((n) => ({
        type: 'bar' as const,
        name: `n = ${n}`,
        label: { show: true, position: 'top' as const, fontSize: 9, formatter: (p: { value: unknown }) => (typeof p.value === 'number' ? Math.round(p.value).toLocaleString('en-US') : '') },
        data: labels.map((l) => {
          const c = cases.find((x) => shortLabel(x) === l && x.n === n && x.status === 'ok');
          return c ? Math.round(c.requests_per_sec) : null;
        }),
      })),
    },
    520,
  );
  return { file: 'requests.svg', title, svg };
}

/** Latency percentiles of every checked case at one size, log scale. */
export function latencyChart(cases: readonly CaseResult[], n: number): Chart {
  const shown = cases.filter((c) => c.n === n && c.status === 'ok' && c.latency?.count);
  const points = shown[0]?.latency?.distribution.map(([p]) => (p === 100 ? 'max' : `p${p}`)) ?? [];
  const title = `Latency distribution at n = ${n} (ms, log scale; lower is better)`;
  const svg = render(
    {
      title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
      legend: { top: 40 },
      grid: { left: 70, right: 90, top: 110, bottom: 40 },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: points, name: 'percentile' },
      yAxis: { type: 'log', name: 'ms', logBase: 10 },
      series: shown.map((c) => ({
        type: 'line' as const,
        name: shortLabel(c),
        symbolSize: 5,
        data: c.latency!.distribution.map(([, v]) => Number(Math.max(v, 0.001).toPrecision(3))),
      })),
    },
    520,
  );
  return { file: 'latency.svg', title, svg };
}

/** Server CPU (with the load generator's and other tenants' share) and memory per case. */
export function resourcesChart(cases: readonly CaseResult[]): Chart {
  const shown = cases.filter((c) => c.resources);
  const labels = shown.map((c) => `${shortLabel(c)} n=${c.n}`);
  const r = (f: (c: CaseResult) => number): number[] => shown.map((c) => Math.round(f(c)));
  const title = 'CPU (% of one core) and memory (MB) of the whole service per case';
  const svg = render(
    {
      title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
      legend: { top: 40 },
      tooltip: { trigger: 'axis' },
      grid: [
        { left: 70, right: 20, top: 90, height: 200 },
        { left: 70, right: 20, top: 340, height: 200 },
      ],
      xAxis: [
        { type: 'category', data: labels, gridIndex: 0, axisLabel: { show: false } },
        { type: 'category', data: labels, gridIndex: 1, axisLabel: { rotate: 40, interval: 0, fontSize: 10 } },
      ],
      yAxis: [
        { type: 'value', name: 'CPU %', gridIndex: 0 },
        { type: 'value', name: 'MB', gridIndex: 1 },
      ],
      series: [
        { type: 'bar', name: 'server + workers CPU', stack: 'cpu', data: r((c) => c.resources!.server_cpu_pct) },
        { type: 'bar', name: 'load generator CPU', stack: 'cpu', data: r((c) => c.resources!.loadgen_cpu_pct) },
        { type: 'bar', name: 'other CPU', stack: 'cpu', data: r((c) => c.resources!.other_cpu_pct) },
        { type: 'bar', name: 'RSS avg', xAxisIndex: 1, yAxisIndex: 1, data: r((c) => c.resources!.rss_avg_mb) },
        { type: 'bar', name: 'RSS peak', xAxisIndex: 1, yAxisIndex: 1, data: r((c) => c.resources!.rss_peak_mb) },
        { type: 'bar', name: 'PSS peak', xAxisIndex: 1, yAxisIndex: 1, data: r((c) => c.resources!.pss_peak_mb ?? 0) },
      ],
    },
    740,
  );
  return { file: 'resources.svg', title, svg };
}

export function allCharts(cases: readonly CaseResult[]): Chart[] {
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const latencyN = sizes.includes(500) ? 500 : sizes[0];
  return [requestsChart(cases), ...(latencyN === undefined ? [] : [latencyChart(cases, latencyN)]), resourcesChart(cases)];
}
