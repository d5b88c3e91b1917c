// Every performance figure the README and docs/ show, computed from the
// committed results, one generated block each (see blocks.ts):
//
//   headline    README.md                  bench/results/latest/results.json (npm run bench)
//   http        docs/benchmarks.md         the same run: the table, charts, conclusions, targets
//   kernels     docs/benchmarks.md         the same run's kernel section (bench:kernels, run by npm run bench)
//   matmul      docs/matmul.md             its matmul rows (GFLOPS, NumPy's among them when found)
//   data-passes docs/kernels.md            its data add rows: bare, fused with the checksum, two-pass
//   soak        docs/failure-behaviour.md  bench/results/soak-latest.json (npm run soak)
//   thresholds  docs/kernels.md            config/auto-thresholds.json (bench:kernels --write-thresholds)
//   cluster, cluster-faults, cluster-summary: docs/cluster.md and docs/benchmarks.md, from the bench run's
//               cluster section (or, when it has none, bench/results/cluster-bench-latest.json) and
//               bench/results/cluster-faults-latest.json (npm run cluster-faults)
//   cpu         docs/two-core-ceiling.md   bench/results/latest/main-thread-cpu.json (npm run bench: server CPU per request)
//
// Re-running `npm run bench` (or the soak, or --write-thresholds) and then
// `npm run docs:figures` updates every figure; test/docs-figures.test.ts fails
// when a block differs from what the committed results give.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { comparesWithBaseline, type CaseKind } from '../http/cases.js';
import { conclusions, targets } from '../http/conclusions.js';
import { fixed, int, ms, pct, ratio } from '../http/format.js';
import { crossovers, type KernelsSection } from '../http/kernels-section.js';
import type { BenchRun, CaseResult } from '../http/results.js';
import { markdownTable, resultsMarkdown } from '../http/table.js';
import { passTarget, TRAFFIC, type PassCell } from '../data-passes.js';
import { matmulTargets } from '../matmul.js';
import { checkTargets, formatMarkdown } from '../report.js';
import { autoChecks, autoLines, thresholdsProvenance, KERNEL_TITLES, openmpTable, parallelChecks, parallelLines, rooflineFindings, rooflineTable, spreadTable } from '../comparisons.js';
import { describeCpu } from '../roofline.js';
import { soakSummaryMarkdown, type SoakRun } from '../soak/report.js';
import type { ThresholdsFile, ThresholdTable } from '../../src/engines/auto-thresholds.js';
import { NEVER } from '../thresholds.js';
import { stallMarkdown } from '../http/stall.js';
import { labJobMarkdown } from '../http/lab-job-report.js';
import { MAIN_THREAD_CPU_FILE, mainThreadCpuText, type MainThreadCpuResult } from '../http/main-thread-cpu.js';
import { proxySectionMarkdown } from '../cluster/bench-section.js';
import type { FailoverRun } from '../cluster/failover.js';
import { failoverLedgerMarkdown } from '../cluster/failover-report.js';
import type { ClusterSection } from '../cluster/cluster-bench.js';
import { MODEL_GBITS } from '../cluster/cluster-bench.js';
import { clusterModel, clusterSectionMarkdown } from '../cluster/cluster-bench-report.js';
import type { FaultsRun } from '../cluster/cluster-faults.js';
import { faultsLedgerMarkdown } from '../cluster/cluster-faults-report.js';

/** The committed results every figure comes from, relative to the repository root. */
export const SOURCES = {
  run: 'bench/results/latest/results.json',
  soak: 'bench/results/soak-latest.json',
  thresholds: 'config/auto-thresholds.json',
  failover: 'bench/results/failover-latest.json',
  clusterFaults: 'bench/results/cluster-faults-latest.json',
  clusterBench: 'bench/results/cluster-bench-latest.json',
} as const;

/** `npm run cluster-bench`'s record: the bench's cluster section run alone. */
export interface ClusterBenchRecord {
  command: string;
  started_at: string;
  section: ClusterSection;
}

export interface Sources {
  run: BenchRun;
  soak: SoakRun;
  thresholds: ThresholdsFile;
  failover: FailoverRun;
  /** Absent until recorded (npm run cluster-faults, npm run cluster-bench). */
  clusterFaults?: FaultsRun;
  clusterBench?: ClusterBenchRecord;
  /** The chart files next to results.json. */
  charts: string[];
  /** The server's CPU per request (bench/http/main-thread-cpu.ts), when the run measured it. */
  cpu: MainThreadCpuResult | undefined;
}

const CHARTS: [file: string, alt: string][] = [
  ['requests.svg', 'Requests per second by mode, one panel per size'],
  ['latency.svg', 'Latency distribution at n = 500, log scale'],
  ['resources.svg', 'CPU and memory of the whole service per case'],
];

export function loadSources(root: string): Sources {
  const read = <T>(file: string): T => JSON.parse(readFileSync(join(root, file), 'utf8')) as T;
  const optional = <T>(file: string): T | undefined => (existsSync(join(root, file)) ? read<T>(file) : undefined);
  const latest = join(root, 'bench', 'results', 'latest');
  const clusterFaults = optional<FaultsRun>(SOURCES.clusterFaults);
  const clusterBench = optional<ClusterBenchRecord>(SOURCES.clusterBench);
  return {
    run: read<BenchRun>(SOURCES.run),
    soak: read<SoakRun>(SOURCES.soak),
    thresholds: read<ThresholdsFile>(SOURCES.thresholds),
    failover: read<FailoverRun>(SOURCES.failover),
    ...(clusterFaults && { clusterFaults }),
    ...(clusterBench && { clusterBench }),
    charts: CHARTS.map(([file]) => file).filter((f) => existsSync(join(latest, f))),
    cpu: existsSync(join(latest, MAIN_THREAD_CPU_FILE)) ? read<MainThreadCpuResult>(`bench/results/latest/${MAIN_THREAD_CPU_FILE}`) : undefined,
  };
}

const day = (iso: string): string => iso.slice(0, 10);
const time = (iso: string): string => iso.slice(11, 16);
const find = (cases: readonly CaseResult[], kind: CaseKind, n: number): CaseResult | undefined => cases.find((c) => c.kind === kind && c.n === n);
const sizesOf = (cases: readonly CaseResult[]): number[] => [...new Set(cases.map((c) => c.n))].sort((a, b) => a - b);

function otherCpu(run: BenchRun): number | null {
  const other = run.cases.filter((c) => c.resources).map((c) => c.resources!.other_cpu_pct);
  return other.length ? other.reduce((s, x) => s + x, 0) / other.length : null;
}

/** "2026-11-25, AMD EPYC (2 cores, 23.5 GB), Node.js v20.20.2, WASM SIMD on". */
function machine(run: BenchRun): string {
  const m = run.machine;
  return `${day(run.started_at)}, ${m.cpu_model} (${m.cores} cores, ${m.memory_gb} GB), Node.js ${m.node}, WASM SIMD ${m.wasm_simd ? 'on' : 'off'}`;
}

function served(c: CaseResult | undefined): string {
  if (!c) return '-';
  if (c.status !== 'ok') return 'failed';
  return `${int(c.requests_per_sec)} req/s, p99 ${ms(c.latency?.p99_ms ?? 0)} ms`;
}

/** "wrk (GET) and autocannon (POST uploads)", from the cases; results written before generators were recorded used autocannon. */
function generators(run: BenchRun): string {
  const tools = new Set(run.cases.map((c) => c.generator?.tool ?? 'autocannon'));
  if (tools.size === 2) return 'wrk (GET cases) and autocannon (POST uploads)';
  return tools.has('wrk') ? 'wrk' : 'autocannon';
}

/** README: the lab's job on wasmatrix, the lab's Gunicorn and node:http, same run, same generator. */
function headlineLabJob(s: Sources): string[] {
  const section = s.run.lab_job;
  if (section === undefined) return [notInResult(s, '"lab\'s job, like with like" section (wasmatrix -w 1 and -w 2 against the lab\'s Gunicorn in the same run, with wrk; it predates it)')];
  if (section === null || !section.contenders.length) return [`The lab's job, like with like: not measured in this result${section?.problem ? ` (${section.problem})` : ''}.`];
  const lab = section.contenders.find((c) => c.id === 'lab');
  return [
    `The lab's job (\`GET /threading\`, n = ${section.n}, ${section.connections} connections, ${section.generator === 'wrk' ? 'wrk' : section.generator}, median of ${section.rounds} interleaved runs, same run; the lab's best Gunicorn configuration was \`${section.lab_best ?? '-'}\`):`,
    '',
    markdownTable(
      ['server', 'req/s (min to max)', 'p99 ms', 'x the lab'],
      section.contenders.map((c) => [
        c.label,
        c.median_rps === null ? `not measured (${c.problem})` : `${int(c.median_rps)} (${int(c.min_rps!)} to ${int(c.max_rps!)})`,
        c.median_p99_ms === null ? '-' : ms(c.median_p99_ms),
        c.median_rps !== null && lab?.median_rps ? ratio(c.median_rps / lab.median_rps) : '-',
      ]),
      new Set([1, 2, 3]),
    ),
  ];
}

/** README: the few figures a newcomer wants, from the latest full run. */
export function headline(s: Sources): string {
  const { run } = s;
  const sizes = sizesOf(run.cases);
  const other = otherCpu(run);
  const rows: [string, CaseKind][] = [
    ['`GET /threading` (thread pool)', 'threading'],
    ['`GET /multiprocessing` (process pool)', 'multiprocessing'],
    ['`GET /add?mode=wasm` (WASM, no pool)', 'wasm'],
    ['`GET /add?mode=ts` (pure-TypeScript baseline)', 'ts'],
  ];
  const fastest = sizes.map((n) => {
    const best = run.cases.filter((c) => c.n === n && c.status === 'ok' && comparesWithBaseline(c.kind)).sort((a, b) => b.requests_per_sec - a.requests_per_sec)[0];
    return best ? `\`${best.label}\`, ${ratio(best.ratio_vs_ts)} ts` : '-';
  });
  const lines = [
    `Measured by \`${run.command}\` on ${machine(run)}; ${generators(run)} with ${run.options.connections} connections on the same machine` +
      (other === null ? '' : `, other processes using ${pct(other)} of a core on average`) +
      `. Every answer was checked. Tables, charts and method: [docs/benchmarks.md](docs/benchmarks.md).`,
    '',
    markdownTable(
      ['endpoint (two random n x n int32 matrices, added)', ...sizes.map((n) => `n = ${n}`)],
      [...rows.map(([label, kind]) => [label, ...sizes.map((n) => served(find(run.cases, kind, n)))]), ['fastest (x the baseline)', ...fastest]],
      new Set(sizes.map((_, i) => i + 1)),
    ),
    '',
  ];
  lines.push(...headlineLabJob(s), '');
  for (const t of targets(run)) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'missed';
    lines.push(`- Target: ${t.name}, ${t.goal}: ${t.measured === verdict ? verdict : `${t.measured} (${verdict})`}.`);
  }
  const k = run.kernels;
  const wasm = k?.rows.find((r) => r.op === 'random+add' && r.mode === 'wasm' && r.dtype === 'int32' && r.n === 500);
  if (wasm) {
    lines.push(
      `- Without HTTP (\`bench:kernels\`, same run): the lab's job at n = 500 (generate A and B, add, checksum) takes ${fixed(wasm.ns_per_element, 3)} ns per element in WASM, ${ratio(wasm.ratio_vs_ts)} the TypeScript kernel.`,
    );
  }
  // against C, from the measured ratios (never a claim of parity): only when this run measured it
  if (k && k.status === 'ok' && missingLikeForLike(k).length === 0) {
    lines.push(...rooflineFindings(k.roofline!).map((l) => `- Against C in the same run ([docs/benchmarks.md](docs/benchmarks.md#against-c-and-openmp-like-for-like)): ${l[0]!.toLowerCase()}${l.slice(1)}`));
  }
  return lines.join('\n');
}

/** docs/benchmarks.md: the HTTP run in full. */
export function http(s: Sources): string {
  const { run } = s;
  const other = otherCpu(run);
  const t = targets(run);
  return [
    `\`${run.command}\`, ${machine(run)}; run from ${time(run.started_at)} to ${time(run.finished_at)} UTC` +
      `, load average ${run.machine.load_at_start.join(', ')} at the start` +
      (other === null ? '' : `; other processes used ${pct(other)} of a core on average during the cases`) +
      `. Server: \`${run.server.start_line ?? '-'}\`. Its report: [report.md](../bench/results/latest/report.md); raw data: [results.json](../bench/results/latest/results.json).`,
    '',
    'Latency in ms (from each response time); CPU in % of one core (200% = both cores); errors = connection errors / timeouts / non-2xx; RSS start = what the server and its pool processes held when the case began; check = answers verified.',
    '',
    resultsMarkdown(run.cases),
    '',
    ...s.charts.map((file) => `![${CHARTS.find(([f]) => f === file)![1]}](../bench/results/latest/${file})\n`),
    'Computed from the table:',
    '',
    // the kernel findings are in the kernels block
    ...conclusions({ ...run, kernels: null }).map((l) => `- ${l}`),
    '',
    markdownTable(
      ['target', 'goal', 'measured', 'met'],
      t.map((x) => [x.name, x.goal, x.measured, x.met === null ? 'not measured' : x.met ? 'yes' : '**no**']),
      new Set(),
    ),
  ].join('\n');
}

/** The thresholds' provenance when they were measured on another CPU than the run's, as a list item. */
function provenanceLine(s: Sources): string[] {
  const k = s.run.kernels;
  if (!k?.context || !k.rows.some((r) => r.mode === 'auto')) return [];
  const line = thresholdsProvenance(s.thresholds.measured, k.context.cpu);
  return line ? [`- ${line}`] : [];
}

/** What a kernel section lacks of issue 14's like-for-like fields (it predates them), by name. */
function missingLikeForLike(k: KernelsSection): string[] {
  const missing: string[] = [];
  if (!k.c) missing.push('the C builds and C with OpenMP (`kernels.c`)');
  if (!k.roofline?.length || k.roofline.some((r) => !('kernel' in r))) missing.push('the roofline per kernel and build (`kernels.roofline[].kernel`, `.c`)');
  if (!k.rows.some((r) => r.p10 !== undefined)) missing.push('the pool cells\' p10 and p90 (`kernels.rows[].p10`, `.p90`)');
  if (!k.context?.ts_baseline) missing.push('how the TS baseline was isolated (`kernels.context.ts_baseline`)');
  return missing;
}

const predates = (s: Sources, missing: string[]): string =>
  `Not in this result: \`${SOURCES.run}\` (${day(s.run.started_at)}) predates issue 14's like-for-like measurements and lacks ${missing.join('; ')}. Run \`npm run bench\`, then \`npm run docs:figures\`.`;

/** docs/benchmarks.md: the roofline against C built four ways, C with OpenMP, the parallel and auto targets, the pool spreads. */
export function roofline(s: Sources): string {
  const k = s.run.kernels;
  if (!k || k.status !== 'ok') return 'The kernel benchmark is not in this result.';
  const missing = missingLikeForLike(k);
  if (missing.length) return predates(s, missing);
  const c = k.c!;
  const lines = [
    `From \`${k.command}\`, the same run. ${c.cpu ? `${describeCpu(c.cpu)}.` : 'gcc could not say what this CPU has.'} The TS baseline: ${k.context!.ts_baseline}.`,
    '',
    'C builds (gcc, compiled and run by the benchmark):',
    '',
    ...c.builds.map((b) => `- \`${b.name}\`: \`${b.flags.join(' ')}\` (${b.about})`),
    ...Object.entries(c.skipped).map(([name, why]) => `- \`${name}\`: skipped, ${why}`),
  ];
  for (const kernel of ['add', 'lab'] as const) {
    const rows = k.roofline!.filter((r) => r.kernel === kernel);
    if (rows.length) lines.push('', `One thread, ${KERNEL_TITLES[kernel]}, ns per element (C and wasm: median of the round medians, builds in turn; ts: a fresh process per cell); wasm and ts are the kernels alone, no dispatch:`, '', rooflineTable(rows, c.builds));
  }
  lines.push('', ...rooflineFindings(k.roofline!).map((l) => `- ${l}`));
  if (c.openmp.length) lines.push('', `C with OpenMP (\`${c.openmp_build.flags.join(' ')}\`, ${c.openmp_build.about}), ns per element, median of the rounds (p10-p90 of all their batches):`, '', openmpTable(c.openmp));
  // auto at every size is in the kernels block's targets (checkTargets)
  lines.push('', 'Target (issue 14), read off this run:', '', ...parallelLines(parallelChecks(k.rows, c.openmp)).map((l) => `- ${l}`));
  lines.push('', 'Pool cells: p10 / p50 / p90 of the single calls of all rounds, ns per element (a hand-off is bimodal; the batch medians are in the table above):', '', spreadTable(k.rows));
  return lines.join('\n');
}

/** docs/kernels.md and the README: the like-for-like findings in a few lines. */
export function likeForLike(s: Sources): string {
  const k = s.run.kernels;
  if (!k || k.status !== 'ok') return 'The kernel benchmark is not in this result.';
  const missing = missingLikeForLike(k);
  if (missing.length) return predates(s, missing);
  return [
    `From \`${SOURCES.run}\` (${day(s.run.started_at)}; tables in [benchmarks.md](benchmarks.md#against-c-and-openmp-like-for-like)):`,
    '',
    ...rooflineFindings(k.roofline!).map((l) => `- ${l}`),
    ...parallelLines(parallelChecks(k.rows, k.c!.openmp)).map((l) => `- ${l}`),
    ...autoLines(autoChecks(k.rows)).map((l) => `- ${l}`),
    ...provenanceLine(s),
  ].join('\n');
}

/** docs/benchmarks.md: the kernel benchmark of the same run. */
export function kernels(s: Sources): string {
  const k = s.run.kernels;
  if (!k) return 'The kernel benchmark is not in this result (`--no-kernels`).';
  if (k.status !== 'ok') return `The kernel benchmark failed in this result: ${k.problem ?? 'unknown'}.`;
  const c = k.context;
  const lines = [
    `\`${k.command}\`, run by that \`${s.run.command}\` after its HTTP cases (server stopped)` +
      (c ? `: ${c.cpu}, ${c.cores} cores, Node.js ${c.node}, ${c.simd ? 'SIMD' : 'scalar'} kernels, pools of ${c.workers} workers, median of ${c.rounds} round(s), ${day(c.date)}` : '') +
      (c?.ts_baseline ? `; the TS baseline: ${c.ts_baseline}` : '') +
      '.',
    '',
    formatMarkdown(k.rows),
    '',
    'Cells: ns per element (x the ts baseline of the same run); for auto, the mode it picked.',
    '',
    'Targets (issue 2), read off the table:',
    '',
    ...checkTargets(k.rows).map((t) => `- ${t}`),
    ...provenanceLine(s),
    ...crossovers(k.rows)
      .filter((x) => x.mode === 'threads')
      .map((x) => `- ${x.op} ${x.dtype}: threads ahead of single-thread wasm ${x.from_n === null ? 'at no size measured' : `from n = ${x.from_n}`} (${x.ratios.map(([n, r]) => `${n}: ${ratio(r)}`).join(', ')})`),
    '',
    'Spawning per request, as the lab does (start, ready, one random+add int32 job at n = 500, exit):',
    '',
    ...k.spawn_costs.map((x) => `- ${x.what}: ${ms(x.median_ms)} ms${x.min_ms === null ? '' : ` (${ms(x.min_ms)} to ${ms(x.max_ms!)})`}`),
  ];
  return lines.join('\n');
}

/** docs/matmul.md: GFLOPS of C = A x B per mode, kernel, dtype, n and workers, from the same kernel run. */
export function matmul(s: Sources): string {
  const k = s.run.kernels;
  if (!k || k.status !== 'ok') return 'The kernel benchmark is not in this result.';
  if (!k.matmul) return 'matmul is not in this result (written before `bench:kernels` measured it): the next `npm run bench` records it.';
  if (!k.matmul.length) return 'matmul was not measured in this result (`--ops` without matmul).';
  const rows = k.matmul;
  const ts = (r: (typeof rows)[number]) => rows.find((t) => t.mode === 'ts' && t.dtype === r.dtype && t.n === r.n);
  return [
    `From \`${k.command}\`, run by that \`${s.run.command}\`${k.context ? ` (${k.context.cpu}, Node.js ${k.context.node}, ${day(k.context.date)})` : ''}. GFLOPS = 2 n^3 / seconds of one whole C on caller data in memory, checksum included (processes: random jobs); \`numpy\` is NumPy's \`a @ b\` in the same run, its BLAS in the kernel column.`,
    '',
    markdownTable(
      ['mode', 'kernel', 'dtype', 'n', 'workers', 'GFLOPS', 'x ts'],
      rows.map((r) => {
        const base = ts(r);
        return [r.picked ? `auto (${r.picked})` : r.mode, r.kernel, r.dtype, String(r.n), String(r.workers), fixed(r.gflops, 2), base ? ratio(r.gflops / base.gflops) : '-'];
      }),
      new Set([3, 4, 5, 6]),
    ),
    '',
    'Targets (issue 9), read off the table:',
    '',
    ...matmulTargets(rows).map((t) => `- ${t}`),
  ].join('\n');
}

/** docs/kernels.md: the data add bare, fused with its checksum (what every mode runs) and in two passes, from the same kernel run. */
export function dataPasses(s: Sources): string {
  const k = s.run.kernels;
  if (!k || k.status !== 'ok') return 'The kernel benchmark is not in this result.';
  if (!k.passes) return notInResult(s, 'data add passes (bare, fused, two-pass) in its kernel section (it predates them)');
  if (!k.passes.length) return 'The data add passes were not measured in this result (`--ops` without data-passes).';
  const cell = (c: PassCell): string => `${fixed(c.ns_per_element, 3)} (${fixed(c.gb_per_s, 1)})`;
  const target = passTarget(k.passes);
  return [
    `From \`${k.command}\`, run by that \`${s.run.command}\`${k.context ? ` (${k.context.cpu}, Node.js ${k.context.node}, ${day(k.context.date)})` : ''}. ` +
      `The add on caller data in place, one band on one thread, the three variants timed in turns, batch by batch: ns per element, median of the batches (GB/s of the bytes moved: ${TRAFFIC.bare} x element bytes per element for bare and fused, ${TRAFFIC.two_pass} x for two-pass); the ratios are medians of side-by-side batch ratios.`,
    '',
    markdownTable(
      ['kernel', 'dtype', 'n', 'bare', 'fused (add + checksum)', 'two-pass (add, then checksum)', 'fused / bare', 'two-pass / bare'],
      k.passes.map((r) => [r.kernel, r.dtype, String(r.n), cell(r.bare), cell(r.fused), cell(r.two_pass), ratio(r.fused_vs_bare), ratio(r.two_pass_vs_bare)]),
      new Set([2, 3, 4, 5, 6, 7]),
    ),
    ...(target ? ['', `Target (issue 14): ${target.text.replace(/: (met|MISSED)$/, '')}: **${target.met ? 'met' : 'missed'}**.`] : []),
  ].join('\n');
}

/** docs/failure-behaviour.md: the committed soak. */
export function soak(s: Sources): string {
  const r = s.soak;
  return [
    `\`${r.command}\` on ${day(r.started_at)} (${time(r.started_at)} to ${time(r.finished_at)} UTC), server flags \`${r.server.args.join(' ')}\`: **${r.passed ? 'passed' : 'failed'}**. ` +
      'Full record: [soak-latest.md](../bench/results/soak-latest.md), [soak-latest.json](../bench/results/soak-latest.json).',
    '',
    soakSummaryMarkdown(r),
  ].join('\n');
}

/** docs/kernels.md: where auto switches to the thread pool. */
export function thresholds(s: Sources): string {
  const f = s.thresholds;
  const cell = (elements: number): string => (elements >= NEVER ? 'never' : `${int(elements)} (${Math.round(Math.sqrt(elements))}²)`);
  const cube = (work: number): string => (work >= NEVER ? 'never' : `${int(work)} (${Math.round(Math.cbrt(work))}³)`);
  const table = (t: ThresholdTable, format: (x: number) => string): string => {
    const rows: string[][] = [];
    for (const kernel of ['wasm', 'ts'] as const)
      for (const kind of ['random', 'data'] as const) rows.push([kernel, kind === 'random' ? 'random (GET)' : 'data (POST)', ...(['int32', 'float32', 'float64'] as const).map((d) => format(t[kernel][kind][d]))]);
    return markdownTable(['kernel', 'job', 'int32', 'float32', 'float64'], rows, new Set([2, 3, 4]));
  };
  const lines = [
    `From \`${SOURCES.thresholds}\`, written by \`${f.measured.by}\` on ${day(f.measured.date)} (${f.measured.cpu}, Node.js ${f.measured.node}). The element-wise ops: elements (rows x cols) from which \`auto\` uses the thread pool.`,
    '',
    table(f.thresholds, cell),
  ];
  for (const [op, t] of Object.entries(f.thresholds.byOp ?? {})) {
    if (t) lines.push('', `\`${op}\`: multiply-adds (m k n) from which \`auto\` uses the thread pool.`, '', table(t, cube));
  }
  const cluster = Object.entries(f.thresholds.cluster ?? {});
  if (cluster.length > 0) {
    const rows = cluster.map(([op, work]) => [`\`${op}\``, op === 'matmul' ? cube(work) : cell(work)]);
    lines.push('', 'The cluster (docs/cluster.md), while worker hosts are live: work from which `auto` sends a job there.', '', markdownTable(['op', 'from'], rows, new Set([1])));
  }
  lines.push('', `The file says how it was obtained: "${f.about}"`);
  return lines.join('\n');
}

/** docs/deployment.md: the committed failover run's ledger. */
export function failover(s: Sources): string {
  return `From \`${SOURCES.failover}\`. ${failoverLedgerMarkdown(s.failover)}`;
}

/** The answer when the committed bench result has no such section (it predates it). */
const notInResult = (s: Sources, what: string): string =>
  `Not in this result: \`${SOURCES.run}\` (${day(s.run.started_at)}) has no ${what}; run \`npm run bench\`, then \`npm run docs:figures\`.`;

/** docs/deployment.md: "Through HAProxy" of the committed bench run, with its model and conclusions. */
export function proxy(s: Sources): string {
  if (s.run.proxy === undefined) return notInResult(s, '"Through HAProxy" section (it predates it)');
  return [`From \`${SOURCES.run}\` (${machine(s.run)}).`, '', ...proxySectionMarkdown(s.run.proxy)].join('\n').trimEnd();
}

/** docs/benchmarks.md: /healthz and the lab's job while the largest ts and wasm jobs flood the server. */
export function stall(s: Sources): string {
  if (s.run.stall === undefined) return notInResult(s, 'stall measurement (it predates it)');
  const target = targets({ ...s.run, stall: s.run.stall }).find((t) => t.name.startsWith('/healthz while'))!;
  const verdict = target.met === null ? 'not measured' : target.met ? 'met' : 'missed';
  return [`From \`${SOURCES.run}\` (${machine(s.run)}).`, '', ...stallMarkdown(s.run.stall), '', `Goal: ${target.name}, ${target.goal}: **${verdict}** (${target.measured}).`].join('\n');
}

/** docs/cluster.md: the committed cluster faults run's ledger (the failure table). */
export function clusterFaults(s: Sources): string {
  if (!s.clusterFaults) return `Not recorded yet: \`${SOURCES.clusterFaults}\` does not exist; run \`npm run cluster-faults\` (as root, with nats-server), then \`npm run docs:figures\`.`;
  return `From \`${SOURCES.clusterFaults}\` (full record: [cluster-faults-latest.md](../bench/results/cluster-faults-latest.md)). ${faultsLedgerMarkdown(s.clusterFaults)}`;
}

/** The cluster section to quote: the full bench run's, else the one `npm run cluster-bench` recorded alone, with where it comes from. */
function clusterSource(s: Sources): { section: ClusterSection; from: string } | undefined {
  if (s.run.cluster) return { section: s.run.cluster, from: `From \`${SOURCES.run}\` (${machine(s.run)}).` };
  if (s.clusterBench)
    return {
      section: s.clusterBench.section,
      from: `\`${SOURCES.run}\` (${day(s.run.started_at)}) has no cluster section (it predates it): this is \`${s.clusterBench.command}\`, the section run alone on ${day(s.clusterBench.started_at)} while other work shared the machine (\`${SOURCES.clusterBench}\`); the next \`npm run bench\` replaces it.`,
    };
  return undefined;
}

/** docs/cluster.md: the measured table and the model of N real hosts. */
export function cluster(s: Sources): string {
  const c = clusterSource(s);
  if (!c) return notInResult(s, 'cluster section (it predates it)');
  return [c.from, '', ...clusterSectionMarkdown(c.section)].join('\n').trimEnd();
}

/** docs/benchmarks.md: one line on the cluster mode, from the same section. */
export function clusterSummary(s: Sources): string {
  const c = clusterSource(s);
  if (!c) return notInResult(s, 'cluster section (it predates it)');
  const model = clusterModel(c.section);
  const verdicts = model.map((m) => `${m.case}: ${m.pays_from.every((n) => n === null) ? 'never' : `from ${m.pays_from.map((n, i) => `${n ?? '-'} hosts at ${MODEL_GBITS[i]} Gbit/s`).join(', ')}`}`);
  return `Cluster mode (${c.section.status}; the hosts share this machine's cores, so only the model says when it pays): ${verdicts.join('; ') || 'no case measured'}. Tables and model: [cluster.md](cluster.md#measured).`;
}

/** docs/benchmarks.md: the lab's job, like with like. */
export function labJob(s: Sources): string {
  const lines = labJobMarkdown(s.run.lab_job);
  if (s.run.lab_job === undefined) return notInResult(s, '"lab\'s job, like with like" section (it predates it)');
  const t = targets(s.run).filter((x) => x.name.startsWith('/threading'));
  return [`From \`${SOURCES.run}\` (${machine(s.run)}).`, '', ...lines, '', 'Targets (issue 14):', '', ...t.map((x) => `- ${x.name}: ${x.goal}; measured ${x.measured}: **${x.met === null ? 'not measured' : x.met ? 'met' : 'missed'}**.`)].join('\n');
}

/** The server's CPU per request on -w 1 and -w 2 (docs/two-core-ceiling.md). */
export function cpu(s: Sources): string {
  if (s.cpu === undefined) return notInResult(s, 'CPU per request measurement (bench/http/main-thread-cpu.ts; it predates it)');
  return [`From \`bench/results/latest/${MAIN_THREAD_CPU_FILE}\` (${machine(s.run)}).`, '', mainThreadCpuText(s.cpu, s.run.machine.cores)].join('\n');
}

/** Every block's content, by name. */
export function figureBlocks(s: Sources): Record<string, string> {
  return {
    headline: headline(s),
    http: http(s),
    kernels: kernels(s),
    roofline: roofline(s),
    'like-for-like': likeForLike(s),
    matmul: matmul(s),
    'data-passes': dataPasses(s),
    soak: soak(s),
    thresholds: thresholds(s),
    failover: failover(s),
    proxy: proxy(s),
    stall: stall(s),
    'lab-job': labJob(s),
    cluster: cluster(s),
    'cluster-faults': clusterFaults(s),
    'cluster-summary': clusterSummary(s),
    cpu: cpu(s),
  };
}
