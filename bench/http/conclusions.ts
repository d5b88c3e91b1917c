// Conclusions and targets, computed from the measured cases: which mode wins at
// which size, by how much, at what CPU and memory cost, how the lab's claim
// fares, and the issue's targets. No sentence here holds a number that was not
// measured in the same run.

import { comparesWithBaseline, type CaseKind } from './cases.js';
import { delta, int, mb, ms, pct, ratio } from './format.js';
import type { KernelsSection } from './kernels-section.js';
import type { BenchRun, CaseResult, Target } from './results.js';
import { BENCH_STALL, STALL_TARGET_P99_MS, type StallResult } from './stall.js';
import type { Contender, LabJobSection } from './lab-job.js';

type Inputs = Pick<BenchRun, 'cases' | 'kernels' | 'options'> & { stall?: StallResult | null; lab_job?: LabJobSection | null };

const LAB_N = 500;
/** Issue 14's targets for /threading at n = 500, 20 connections, wrk (the lab's baseline measured in the same run). */
export const LAB_JOB_TARGETS = { rps: 10_000, p99_ms: 5, x_lab: 23 } as const;
const TARGET_WASM_RATIO = 5;
const LAB_MEMORY = 'the lab measured about 106 MB with one Gunicorn worker and 191 MB with two';

/** The modes that compute with the WASM kernels (the 5x target). */
const WASM_KINDS: CaseKind[] = ['wasm', 'threads', 'processes', 'auto', 'threading', 'multiprocessing'];

const passing = (cases: readonly CaseResult[]): CaseResult[] => cases.filter((c) => c.status === 'ok');
const find = (cases: readonly CaseResult[], kind: CaseKind, n: number): CaseResult | undefined =>
  cases.find((c) => c.kind === kind && c.n === n && c.status === 'ok');
const cost = (c: CaseResult): string =>
  c.resources ? `${pct(c.resources.server_cpu_pct)} CPU and ${mb(c.resources.rss_peak_mb)} peak RSS` : 'resources not measured';
const name = (c: CaseResult): string => `\`${c.label}\``;

function sizeWinner(cases: readonly CaseResult[], n: number): string | undefined {
  const ranked = passing(cases)
    .filter((c) => c.n === n && comparesWithBaseline(c.kind))
    .sort((a, b) => b.requests_per_sec - a.requests_per_sec);
  const [best, second] = ranked;
  if (!best) return undefined;
  const base = find(cases, 'ts', n);
  let s = `At n = ${n}, ${name(best)} serves the most: ${int(best.requests_per_sec)} req/s`;
  if (base && best !== base) s += `, ${ratio(best.requests_per_sec / base.requests_per_sec)} the pure-TS baseline (${int(base.requests_per_sec)} req/s)`;
  if (second) s += `, ${delta(best.requests_per_sec, second.requests_per_sec)} over the runner-up ${name(second)} (${int(second.requests_per_sec)} req/s)`;
  s += `. The service used ${cost(best)}`;
  if (base && best !== base) s += `, against ${cost(base)} for the baseline`;
  if (best.resources && best.requests_per_sec > 0) {
    const perAnswer = (cpuPct: number): string => ms((cpuPct / 100 / best.requests_per_sec) * 1000);
    s += `; per answer, ${perAnswer(best.resources.server_cpu_pct)} ms of server CPU (all its threads and processes) and ${perAnswer(best.resources.loadgen_cpu_pct)} ms of load-generator CPU`;
  }
  return `${s}.`;
}

function labComparison(cases: readonly CaseResult[], n: number): string | undefined {
  const t = find(cases, 'threading', n);
  const p = find(cases, 'multiprocessing', n);
  if (!t || !p) return undefined;
  const faster = t.requests_per_sec >= p.requests_per_sec ? t : p;
  const slower = faster === t ? p : t;
  const verdict = faster === t ? 'threads beat processes, the opposite of the lab' : 'processes beat threads, as the lab found';
  return (
    `At n = ${n}, ${name(faster)} serves ${int(faster.requests_per_sec)} req/s and ${name(slower)} ${int(slower.requests_per_sec)} ` +
    `(${ratio(faster.requests_per_sec / slower.requests_per_sec)}): ${verdict}. ` +
    `p99 ${ms(t.latency?.p99_ms ?? 0)} ms vs ${ms(p.latency?.p99_ms ?? 0)} ms; ` +
    `threads cost ${cost(t)}, processes ${cost(p)}${t.resources && p.resources ? ` (${p.resources.processes} processes vs ${t.resources.processes})` : ''}.`
  );
}

function kernelInsidePools(cases: readonly CaseResult[], n: number): string | undefined {
  const parts: string[] = [];
  for (const mode of ['threads', 'processes'] as const) {
    const wasm = find(cases, mode, n);
    const ts = find(cases, `${mode}:ts`, n);
    if (wasm && ts) parts.push(`${mode} ${ratio(wasm.requests_per_sec / ts.requests_per_sec)} (${int(wasm.requests_per_sec)} vs ${int(ts.requests_per_sec)} req/s)`);
  }
  return parts.length ? `At n = ${n}, the WASM kernel against the pure-TS kernel inside the same pool: ${parts.join(', ')}.` : undefined;
}

function uploads(cases: readonly CaseResult[], n: number): string | undefined {
  const bin = find(cases, 'post-binary', n);
  const json = find(cases, 'post-json', n);
  const get = find(cases, 'auto', n);
  if (!bin && !json) return undefined;
  const parts = [bin && `binary ${int(bin.requests_per_sec)} req/s (p50 ${ms(bin.latency?.p50_ms ?? 0)} ms)`, json && `JSON ${int(json.requests_per_sec)} req/s (p50 ${ms(json.latency?.p50_ms ?? 0)} ms)`].filter(Boolean);
  let s = `Uploading A and B at n = ${n} (POST /add): ${parts.join(', ')}`;
  if (bin && json) s += `; binary is ${ratio(bin.requests_per_sec / json.requests_per_sec)} JSON`;
  if (get && bin) s += `, and ${ratio(bin.requests_per_sec / get.requests_per_sec)} the same job drawn server-side (GET /add?mode=auto)`;
  return `${s}.`;
}

function loadGenerator(cases: readonly CaseResult[]): string | undefined {
  const measured = cases.filter((c) => c.resources);
  if (!measured.length) return undefined;
  const avg = (f: (c: CaseResult) => number): number => measured.reduce((s, c) => s + f(c), 0) / measured.length;
  const loadgen = avg((c) => c.resources!.loadgen_cpu_pct);
  const busiest = measured.reduce((m, c) => (c.resources!.loadgen_cpu_pct > m.resources!.loadgen_cpu_pct ? c : m));
  const other = avg((c) => c.resources!.other_cpu_pct);
  const byTool = (['wrk', 'autocannon'] as const)
    .map((tool) => {
      const ran = measured.filter((c) => (c.generator?.tool ?? 'autocannon') === tool);
      return ran.length ? `${tool} ran ${ran.length} case${ran.length > 1 ? 's' : ''} (${ran[0]!.generator?.why ?? 'autocannon: the only generator then'})` : '';
    })
    .filter(Boolean);
  return (
    `Load generators: ${byTool.join('; ')}. The load generator (with the benchmark's own process) used ${pct(loadgen)} of a core on average ` +
    `(most: ${pct(busiest.resources!.loadgen_cpu_pct)} in ${name(busiest)} n = ${busiest.n}), on the same cores as the server; ` +
    `other processes on the machine used ${pct(other)} of a core on average during the cases.`
  );
}

/** Above this share of a core, the single-threaded load generator, not the server, limits req/s. */
const LOADGEN_BOUND_PCT = 90;

function loadgenBound(cases: readonly CaseResult[]): string | undefined {
  const bound = cases.filter((c) => c.resources && c.resources.loadgen_cpu_pct >= LOADGEN_BOUND_PCT);
  if (!bound.length) return undefined;
  return (
    `In ${bound.map((c) => `${name(c)} n = ${c.n} (${pct(c.resources!.loadgen_cpu_pct)}, server ${pct(c.resources!.server_cpu_pct)})`).join(', ')} ` +
    `the load generator used ${LOADGEN_BOUND_PCT}% of a core or more: those req/s are what one client thread can drive, a floor for the server.`
  );
}

function kernelFindings(k: KernelsSection | null): string[] {
  if (!k || k.status !== 'ok') return [];
  const lines: string[] = [];
  for (const c of k.crossovers.filter((x) => x.op === 'random+add' || x.op === 'add')) {
    const last = c.ratios[c.ratios.length - 1]!;
    lines.push(
      c.from_n === null
        ? `Without HTTP (${c.op}, ${c.dtype}), ${c.mode} never beat single-thread wasm up to n = ${last[0]} (${ratio(last[1])} there).`
        : `Without HTTP (${c.op}, ${c.dtype}), ${c.mode} beats single-thread wasm from n = ${c.from_n} on (${ratio(last[1])} at n = ${last[0]}).`,
    );
  }
  for (const s of k.spawn_costs) lines.push(`Per request, ${s.what}: ${ms(s.median_ms)} ms.`);
  return lines;
}

const spread = (c: Contender): string => `${int(c.median_rps!)} req/s (${int(c.min_rps!)} to ${int(c.max_rps!)}), p99 ${ms(c.median_p99_ms ?? 0)} ms`;

/** The lab's job, like with like: one sentence of medians and ratios from the same run. */
function labJobLine(section: LabJobSection | null | undefined): string | undefined {
  if (!section) return undefined;
  if (section.problem && !section.contenders.length) return `The lab's job, like with like: not measured (${section.problem}).`;
  const lab = section.contenders.find((c) => c.id === 'lab');
  const parts = section.contenders.map((c) => {
    if (c.median_rps === null) return `${c.label}: not measured (${c.problem})`;
    const x = lab?.median_rps && c !== lab ? `, ${ratio(c.median_rps / lab.median_rps)} the lab` : '';
    return `${c.label} ${spread(c)}${x}, wrk ${pct(c.median_generator_cpu_pct ?? 0)} of a core`;
  });
  return (
    `The lab's job, like with like (GET /threading, n = ${section.n}, ${section.connections} connections, wrk, median of ${section.rounds} interleaved runs, min to max): ${parts.join('; ')}. ` +
    `The lab's configurations measured first: ${section.lab_search.map((r) => `${r.config} ${r.requests_per_sec === null ? `failed (${r.problem})` : `${int(r.requests_per_sec)} req/s`}`).join(', ')}; the fastest is the baseline. For reference, ${section.lab_published}.`
  );
}

/** The lab's claim ("multiprocessing beats threading because of the GIL") against this run, per size. */
export function labComparisons(cases: readonly CaseResult[]): string[] {
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  return sizes.map((n) => labComparison(cases, n)).filter((s): s is string => !!s);
}

export function conclusions(run: Inputs): string[] {
  const { cases } = run;
  const sizes = [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);
  const lines: string[] = [];
  for (const n of sizes) lines.push(...[sizeWinner(cases, n), labComparison(cases, n), kernelInsidePools(cases, n), uploads(cases, n)].filter((s): s is string => !!s));
  for (const s of [labJobLine(run.lab_job), loadGenerator(cases), loadgenBound(cases)]) if (s) lines.push(s);
  lines.push(...kernelFindings(run.kernels));
  const failed = cases.filter((c) => c.status === 'failed');
  if (failed.length) lines.push(`Failed (excluded from every ranking above): ${failed.map((c) => `${name(c)} n = ${c.n} (${c.problems[0]})`).join('; ')}.`);
  return lines;
}

/** Issue 14's /threading targets, from "the lab's job, like with like" of the same run. */
export function labJobTargets(section: LabJobSection | null | undefined): Target[] {
  const g = LAB_JOB_TARGETS;
  const goal = `>= ${int(g.rps)} req/s, p99 < ${g.p99_ms} ms, >= ${g.x_lab}x the lab's best Gunicorn configuration in the same run`;
  const names = ['wasmatrix-w1', 'wasmatrix-w2'] as const;
  const label = (w: string): string => `/threading, n = ${LAB_N}, 20 connections, wrk: wasmatrix -w ${w}`;
  const why = section === undefined ? 'this result has no "lab\'s job" section (written before it was recorded)' : section === null ? 'not measured (not run: --no-lab)' : null;
  const lab = section?.contenders.find((c) => c.id === 'lab');
  const out: Target[] = names.map((id, i) => {
    const c = section?.contenders.find((x) => x.id === id);
    if (!c || c.median_rps === null) return { name: label(String(i + 1)), goal, measured: why ?? `not measured (${c?.problem ?? section?.problem ?? 'no runs'})`, met: null };
    const xLab = lab?.median_rps ? c.median_rps / lab.median_rps : null;
    const at20 = section!.connections === 20;
    return {
      name: label(String(i + 1)),
      goal,
      measured:
        `${spread(c)}, median of ${c.runs.filter((r) => r.problem === null).length}; ` +
        (xLab === null ? 'the lab not measured' : `${ratio(xLab)} the lab (${int(lab!.median_rps!)} req/s)`) +
        (at20 ? '' : ` at ${section!.connections} connections`),
      met: at20 && xLab !== null ? c.median_rps >= g.rps && (c.median_p99_ms ?? Infinity) < g.p99_ms && xLab >= g.x_lab : null,
    };
  });
  const [w1, w2] = names.map((id) => section?.contenders.find((x) => x.id === id));
  const both = w1?.median_rps != null && w2?.median_rps != null;
  out.push({
    name: '/threading: -w 2 against -w 1',
    goal: '-w 2 >= -w 1 (median req/s)',
    measured: both ? `-w 2 ${int(w2!.median_rps!)} vs -w 1 ${int(w1!.median_rps!)} req/s (${ratio(w2!.median_rps! / w1!.median_rps!)})` : (why ?? 'not measured'),
    met: both ? w2!.median_rps! >= w1!.median_rps! : null,
  });
  return out;
}

export function targets(run: Inputs): Target[] {
  const { cases, options } = run;
  const out: Target[] = [];
  const t = find(cases, 'threading', LAB_N);
  out.push(...labJobTargets(run.lab_job));
  const wasm = WASM_KINDS.map((k) => find(cases, k, LAB_N)).filter((c): c is CaseResult => !!c && c.ratio_vs_ts !== null);
  out.push({
    name: `WASM modes vs pure TS, n = ${LAB_N}`,
    goal: `>= ${TARGET_WASM_RATIO}x req/s of GET /add?mode=ts`,
    measured: wasm.length ? wasm.map((c) => `${c.kind} ${ratio(c.ratio_vs_ts)}`).join(', ') : 'not measured',
    met: wasm.length ? wasm.every((c) => c.ratio_vs_ts! >= TARGET_WASM_RATIO) : null,
  });
  const withMemory = cases.filter((c) => c.resources && c.resources.samples > 0);
  const peak = withMemory.reduce<CaseResult | undefined>((m, c) => (!m || c.resources!.rss_peak_mb > m.resources!.rss_peak_mb ? c : m), undefined);
  out.push({
    name: 'Memory of the whole service under load',
    goal: `reported (${LAB_MEMORY})`,
    measured: peak
      ? `peak ${mb(peak.resources!.rss_peak_mb)} RSS / ${mb(peak.resources!.pss_peak_mb)} PSS over ${peak.resources!.processes} processes (${name(peak)} n = ${peak.n})` +
        (t?.resources ? `; /threading n = ${LAB_N}: ${mb(t.resources.rss_peak_mb)} RSS` : '')
      : 'not measured',
    met: peak ? true : null,
  });
  const stall = run.stall;
  out.push({
    name: `/healthz while ${BENCH_STALL.connections} connections flood the largest ts and wasm jobs`,
    goal: `p99 < ${STALL_TARGET_P99_MS} ms`,
    measured: stall ? `p99 ${ms(stall.healthz.p99_ms)} ms over ${int(stall.healthz.count)} probes (${int(stall.healthz.failed)} not 200); lab job p99 ${ms(stall.lab.p99_ms)} ms` : 'not measured',
    met: stall && stall.healthz.count > 0 ? stall.healthz.p99_ms < STALL_TARGET_P99_MS && stall.healthz.failed === 0 : null,
  });
  return out;
}
