// The charts read at a glance: every case kind has a look of its own in the
// latency chart (colour, marker, line) and its name at the end of its line;
// requests per second get a panel and a scale per size; memory is split into
// what a case found the one shared server holding and what it added.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CASE_KINDS } from '../bench/http/cases.ts';
import { KIND_COLOURS, latencyChart, latencyOption, MEMORY_NOTE, requestsChart, requestsOption, resourcesChart, resourcesOption } from '../bench/http/charts.ts';
import type { CaseResult } from '../bench/http/results.ts';
import { fakeCase } from './fixtures/bench-results.ts';

const KINDS = CASE_KINDS.length;
/** The kinds that run at n = 2048 too (uploads and matmul stop below). */
const LARGE_KINDS = CASE_KINDS.filter((k) => !k.startsWith('post-') && !k.startsWith('matmul-'));

/** Every kind at n = 500 (rps 100, 200, ...), the others at n = 2048 too (rps 10, 20, ...). */
function everyKind(): CaseResult[] {
  const small = CASE_KINDS.map((kind, i) => fakeCase(kind, 500, 100 * (i + 1)));
  const large = LARGE_KINDS.map((kind, i) => fakeCase(kind, 2048, 10 * (i + 1)));
  return [...small, ...large];
}

type Series = { name?: string; color?: string; symbol?: string; lineStyle?: { type?: string }; endLabel?: { show?: boolean }; data?: unknown[]; stack?: string };
const seriesOf = (option: { series?: unknown }): Series[] => option.series as Series[];

test('each case kind has its own colour', () => {
  const colours = CASE_KINDS.map((k) => KIND_COLOURS[k]);
  assert.ok(KINDS >= 11);
  assert.is(new Set(colours.map((c) => c.toLowerCase())).size, KINDS, colours.join(' '));
});

test('latency: every series has its own colour and look, and its name at the end of its line', () => {
  const series = seriesOf(latencyOption(everyKind(), 500).option);
  assert.is(series.length, KINDS);
  assert.is(new Set(series.map((s) => s.color)).size, KINDS, 'colours');
  assert.is(new Set(series.map((s) => `${s.color} ${s.symbol} ${s.lineStyle?.type}`)).size, KINDS, 'looks');
  for (const s of series) assert.ok(s.endLabel?.show, `${s.name} is labelled at its end`);
  // the TS kernel inside a pool is dashed, unlike the pool with the WASM kernel
  const look = (name: string) => series.find((s) => s.name === name)!.lineStyle?.type;
  assert.is(look('/add?mode=threads'), 'solid');
  assert.is(look('/add?mode=threads&kernel=ts'), 'dashed');
  assert.is(look('POST (JSON)'), 'dotted');
  const svg = latencyChart(everyKind(), 500).svg;
  for (const colour of Object.values(KIND_COLOURS)) assert.ok(svg.toLowerCase().includes(colour), `${colour} drawn`);
});

test('requests: one panel per size, each on its own scale, every bar in its kind colour and labelled', () => {
  const cases = everyKind();
  cases.find((c) => c.kind === 'wasm' && c.n === 2048)!.status = 'failed';
  const { option } = requestsOption(cases);
  const grids = option.grid as unknown[];
  const yAxes = option.yAxis as { gridIndex: number; type: string }[];
  assert.is(grids.length, 2);
  assert.equal(yAxes.map((y) => y.gridIndex), [0, 1], 'one y axis per panel');
  const [small, large] = seriesOf(option) as { data: { value: unknown; itemStyle: { color: string } }[]; xAxisIndex: number }[];
  assert.is(small!.data.length, KINDS);
  assert.is(large!.data.length, LARGE_KINDS.length);
  assert.equal(small!.data.map((d) => d.itemStyle.color), CASE_KINDS.map((k) => KIND_COLOURS[k]));
  assert.is(large!.data[1]!.value, 0, 'the failed case has no bar');
  const svg = requestsChart(cases).svg;
  for (const text of ['n = 500 (500 x 500)', 'n = 2048 (2048 x 2048)', (100 * KINDS).toLocaleString('en-US'), String(10 * LARGE_KINDS.length), 'failed']) assert.ok(svg.includes(text), text);
});

test('resources: memory is the level the case began at plus what it added, and the chart says so', () => {
  const cases = everyKind().slice(0, 3);
  cases.forEach((c, i) => Object.assign(c.resources!, { rss_start_mb: 100 + 50 * i, rss_peak_mb: 130 + 50 * i }));
  const series = seriesOf(resourcesOption(cases)).filter((s) => s.stack === 'rss');
  assert.equal(series.map((s) => s.name), ['RSS when the case began (MB)', 'added by the case, to its peak (MB)']);
  assert.equal(series[0]!.data, [100, 150, 200]);
  assert.equal(series[1]!.data, [30, 30, 30]);
  const svg = resourcesChart(cases).svg;
  assert.ok(svg.includes('not a leak'), 'the note under the panel');
  // older results without the start level: the peak alone, and a note that says what it includes
  const old = everyKind().slice(0, 3);
  for (const c of old) delete c.resources!.rss_start_mb;
  const peakOnly = seriesOf(resourcesOption(old)).filter((s) => s.name?.startsWith('RSS'));
  assert.equal(peakOnly.map((s) => s.name), ['RSS peak during the case (MB)']);
  assert.ok(resourcesChart(old).svg.includes(MEMORY_NOTE.peakOnly.split('\n')[0]!.slice(0, 40)));
});

test.run();
