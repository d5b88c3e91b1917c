// SVG charts with Apache ECharts' server-side renderer: no browser, no DOM,
// one self-contained SVG per chart that opens in a browser and renders on GitHub.
//
// Read at a glance: every case kind has its own colour (and a marker and line
// style by kernel and method) in every chart; sizes whose req/s differ by
// orders of magnitude get a panel each, with its own scale; memory is split
// into what a case found the one shared server holding and what it added.

import * as echarts from 'echarts';
import type { CaseKind } from './cases.js';
import type { CaseResult } from './results.js';

export interface Chart {
  file: string;
  title: string;
  svg: string;
}

const WIDTH = 1000;
const FONT = { fontFamily: 'Helvetica, Arial, sans-serif' };

/**
 * One colour per case kind (d3's category20): the pure-TS kernel inside a pool
 * is the light partner of its pool's colour, and is also drawn dashed with a
 * triangle; matmul cases (other work than the lab's job) take the remaining
 * colours and squares, so no two series share a look.
 */
export const KIND_COLOURS: Record<CaseKind, string> = {
  ts: '#7f7f7f',
  wasm: '#1f77b4',
  threads: '#2ca02c',
  'threads:ts': '#98df8a',
  processes: '#d62728',
  'processes:ts': '#ff9896',
  auto: '#9467bd',
  threading: '#ff7f0e',
  multiprocessing: '#8c564b',
  'post-binary': '#e377c2',
  'post-json': '#bcbd22',
  'matmul-wasm': '#17becf',
  'matmul-threads': '#aec7e8',
  'matmul-processes': '#c49c94',
  'matmul-auto': '#f7b6d2',
};

/** Marker and line style: TS kernels triangles and dashed, uploads diamonds and dotted, matmul squares and dashed, the rest circles and solid. */
function look(kind: CaseKind): { symbol: string; lineType: 'solid' | 'dashed' | 'dotted' } {
  if (kind === 'ts' || kind.endsWith(':ts')) return { symbol: 'triangle', lineType: 'dashed' };
  if (kind.startsWith('post-')) return { symbol: 'diamond', lineType: 'dotted' };
  if (kind.startsWith('matmul-')) return { symbol: 'rect', lineType: 'dashed' };
  return { symbol: 'circle', lineType: 'solid' };
}

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
const thousands = (x: number): string => Math.round(x).toLocaleString('en-US');

/** The ECharts option of requests.svg: one panel per size, each with its own linear scale and every bar labelled. */
export function requestsOption(cases: readonly CaseResult[]): { option: echarts.EChartsOption; height: number; title: string } {
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const title = 'Requests per second by mode, one panel per size (checked answers only; higher is better)';
  const top = 60;
  const panel = 230;
  const gap = 150;
  const option: echarts.EChartsOption = {
    title: [
      { text: title, left: 'center', textStyle: { fontSize: 15 } },
      ...sizes.map((n, i) => ({ text: `n = ${n} (${n} x ${n})`, left: 'center', top: top + i * (panel + gap) - 22, textStyle: { fontSize: 13 } })),
    ],
    grid: sizes.map((_, i) => ({ left: 75, right: 20, top: top + i * (panel + gap), height: panel })),
    xAxis: sizes.map((n, i) => ({
      type: 'category' as const,
      gridIndex: i,
      data: cases.filter((c) => c.n === n).map(shortLabel),
      axisLabel: { rotate: 30, interval: 0, fontSize: 11 },
    })),
    yAxis: sizes.map((_, i) => ({ type: 'value' as const, gridIndex: i, name: 'req/s' })),
    series: sizes.map((n, i) => ({
      type: 'bar' as const,
      name: `n = ${n}`,
      xAxisIndex: i,
      yAxisIndex: i,
      barMaxWidth: 48,
      label: { show: true, position: 'top' as const, fontSize: 10, formatter: (p: { value: unknown }) => thousands(Number(p.value)) },
      // a failed case has no bar, only the word where its bar would stand
      data: cases
        .filter((c) => c.n === n)
        .map((c) =>
          c.status === 'ok'
            ? { value: Math.round(c.requests_per_sec), itemStyle: { color: KIND_COLOURS[c.kind] } }
            : { value: 0, itemStyle: { color: KIND_COLOURS[c.kind] }, label: { formatter: 'failed', color: '#d62728' } },
        ),
    })),
  };
  return { option, height: top + sizes.length * (panel + gap), title };
}

/** Requests per second by case, a panel per size; a failed case has no bar, only the word. */
export function requestsChart(cases: readonly CaseResult[]): Chart {
  const { option, height, title } = requestsOption(cases);
  return { file: 'requests.svg', title, svg: render(option, height) };
}

/** The ECharts option of latency.svg: one line per checked case at size n, log scale, each in its own colour and labelled at its end. */
export function latencyOption(cases: readonly CaseResult[], n: number): { option: echarts.EChartsOption; title: string } {
  const shown = cases.filter((c) => c.n === n && c.status === 'ok' && c.latency?.count);
  const points = shown[0]?.latency?.distribution.map(([p]) => (p === 100 ? 'max' : `p${p}`)) ?? [];
  const title = `Latency distribution at n = ${n} (ms, log scale; lower is better)`;
  const option: echarts.EChartsOption = {
    title: { text: title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 35, itemWidth: 30 },
    grid: { left: 70, right: 230, top: 120, bottom: 40 },
    xAxis: { type: 'category', data: points, name: 'percentile', boundaryGap: false },
    yAxis: { type: 'log', name: 'ms', logBase: 10 },
    series: shown.map((c) => {
      const { symbol, lineType } = look(c.kind);
      const colour = KIND_COLOURS[c.kind];
      return {
        type: 'line' as const,
        name: shortLabel(c),
        color: colour,
        symbol,
        symbolSize: 7,
        lineStyle: { type: lineType, width: 2 },
        // the name at the end of its line: no need to match colours against the legend
        endLabel: { show: true, formatter: '{a}', fontSize: 10, color: colour },
        labelLayout: { moveOverlap: 'shiftY' as const },
        data: c.latency!.distribution.map(([, v]) => Number(Math.max(v, 0.001).toPrecision(3))),
      };
    }),
  };
  return { option, title };
}

/** Latency percentiles of every checked case at one size, log scale. */
export function latencyChart(cases: readonly CaseResult[], n: number): Chart {
  const { option, title } = latencyOption(cases, n);
  return { file: 'latency.svg', title, svg: render(option, 560) };
}

/** What the memory panel shows, under it: with the level at each case's start, and without (older results). */
export const MEMORY_NOTE = {
  split:
    'One server serves every case, in this order. Grey: what the server and its pool processes held when the case began (left by earlier cases;\nthe shared WASM memory never shrinks). Blue: what the case itself added, up to its peak. A rising grey level is that accumulation, not a leak.',
  peakOnly:
    "This result does not record the level at each case's start: a bar is the service's peak RSS during the case, including what earlier cases\nleft the one shared server holding (the shared WASM memory never shrinks), so a rising level is accumulation across cases, not a leak.",
};

/** The ECharts option of resources.svg: CPU by who used it, and memory as the level at the case's start plus the case's own growth. */
export function resourcesOption(cases: readonly CaseResult[]): echarts.EChartsOption {
  const shown = cases.filter((c) => c.resources);
  const labels = shown.map((c) => `${shortLabel(c)} n=${c.n}`);
  const r = (f: (c: CaseResult) => number): number[] => shown.map((c) => Math.round(f(c)));
  const start = (c: CaseResult): number | undefined => c.resources!.rss_start_mb;
  const recorded = shown.every((c) => start(c) !== undefined);
  const memory = recorded
    ? [
        { type: 'bar' as const, name: 'RSS when the case began (MB)', stack: 'rss', color: '#c7c7c7', xAxisIndex: 1, yAxisIndex: 1, data: r((c) => Math.min(start(c)!, c.resources!.rss_peak_mb)) },
        {
          type: 'bar' as const,
          name: 'added by the case, to its peak (MB)',
          stack: 'rss',
          color: '#1f77b4',
          xAxisIndex: 1,
          yAxisIndex: 1,
          label: { show: true, position: 'top' as const, fontSize: 9, formatter: (p: { value: unknown }) => `+${String(p.value)}` },
          data: r((c) => Math.max(0, c.resources!.rss_peak_mb - start(c)!)),
        },
      ]
    : [{ type: 'bar' as const, name: 'RSS peak during the case (MB)', color: '#c7c7c7', xAxisIndex: 1, yAxisIndex: 1, data: r((c) => c.resources!.rss_peak_mb) }];
  return {
    title: [
      { text: 'CPU (% of one core) and memory (MB RSS) of the whole service per case', left: 'center', textStyle: { fontSize: 15 } },
      { text: recorded ? MEMORY_NOTE.split : MEMORY_NOTE.peakOnly, left: 70, top: 362, textStyle: { fontSize: 11, fontWeight: 'normal', color: '#444444' } },
    ],
    legend: [
      { top: 35, data: ['server + workers CPU', 'load generator CPU', 'other CPU'] },
      { top: 330, data: memory.map((s) => s.name) },
    ],
    grid: [
      { left: 70, right: 20, top: 80, height: 220 },
      { left: 70, right: 20, top: 420, height: 220 },
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
      { type: 'bar', name: 'server + workers CPU', stack: 'cpu', color: '#1f77b4', data: r((c) => c.resources!.server_cpu_pct) },
      { type: 'bar', name: 'load generator CPU', stack: 'cpu', color: '#ff7f0e', data: r((c) => c.resources!.loadgen_cpu_pct) },
      { type: 'bar', name: 'other CPU', stack: 'cpu', color: '#c7c7c7', data: r((c) => c.resources!.other_cpu_pct) },
      ...memory,
    ],
  };
}

/** Server CPU (with the load generator's and other tenants' share) and memory per case. */
export function resourcesChart(cases: readonly CaseResult[]): Chart {
  const title = 'CPU (% of one core) and memory (MB) of the whole service per case';
  return { file: 'resources.svg', title, svg: render(resourcesOption(cases), 860) };
}

export function allCharts(cases: readonly CaseResult[]): Chart[] {
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const latencyN = sizes.includes(500) ? 500 : sizes[0];
  return [requestsChart(cases), ...(latencyN === undefined ? [] : [latencyChart(cases, latencyN)]), resourcesChart(cases)];
}
