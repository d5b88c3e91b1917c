// Like-for-like comparisons read off a kernel run: the roofline against C
// built several ways, the thread pool's speed-up against C with OpenMP, auto
// against the best fixed mode at every size, and the spread of the
// hand-off-bound pool cells. Pure functions of the measured rows: the bench
// prints them, the docs generator (bench/docs/figures.ts) renders the same.

import { markdownTable } from './http/table.js';
import type { KernelRow } from './report.js';
import type { CBuild, CKernel, CpuFeatures } from './roofline.js';

/** One size of one roofline kernel: ns per element (medians), C per build name. */
export interface RooflineRow {
  kernel: 'add' | 'lab';
  n: number;
  c: Record<string, number>;
  wasm_ns: number;
  /** null when the TS cell failed or was not run. */
  ts_ns: number | null;
}

/** C with OpenMP, one kernel, size and thread count: ns per element, median and p10/p90 of its batches. */
export interface OpenmpRow {
  kernel: CKernel;
  n: number;
  threads: number;
  ns_per_element: number;
  p10: number;
  p90: number;
}

/** What the C side of a run was: the CPU as gcc sees it, the builds that ran, why others did not, OpenMP. */
export interface CSection {
  cpu: CpuFeatures | null;
  builds: CBuild[];
  /** Build name -> why it did not run. */
  skipped: Record<string, string>;
  openmp_build: CBuild;
  openmp: OpenmpRow[];
}

export const KERNEL_TITLES: Record<RooflineRow['kernel'], string> = {
  add: 'bare add (o = a + b, int32, no checksum)',
  lab: "the lab's job (A and B drawn from the generator, added, stored and checksummed in one pass, int32)",
};

const f3 = (x: number): string => x.toFixed(3);
const times = (x: number): string => `${x.toFixed(2)}x`;

/** The roofline of one kernel as a Markdown table: ns per element per build, wasm, ts, and wasm's time over two builds'. */
export function rooflineTable(rows: readonly RooflineRow[], builds: readonly CBuild[]): string {
  const names = builds.map((b) => b.name);
  const narrow = names.includes('sse4.2') ? 'sse4.2' : undefined;
  const wide = names[0];
  const header = ['n', ...names.map((n) => `C ${n}`), 'wasm', 'ts', ...(narrow ? [`wasm time / C ${narrow}`] : []), ...(wide && wide !== narrow ? [`wasm time / C ${wide}`] : [])];
  const cells = rows.map((r) => [
    String(r.n),
    ...names.map((b) => (r.c[b] === undefined ? '-' : f3(r.c[b]!))),
    f3(r.wasm_ns),
    r.ts_ns === null ? '-' : f3(r.ts_ns),
    ...(narrow ? [r.c[narrow] === undefined ? '-' : times(r.wasm_ns / r.c[narrow]!)] : []),
    ...(wide && wide !== narrow ? [r.c[wide] === undefined ? '-' : times(r.wasm_ns / r.c[wide]!)] : []),
  ]);
  return markdownTable(header, cells, new Set(header.map((_, i) => i)));
}

/**
 * The sentences that replace any claim of parity: in cache (smallest n) wasm
 * against the 128-bit build and against the fastest build; at the largest n
 * (memory-bound) against native.
 */
export function rooflineFindings(rows: readonly RooflineRow[]): string[] {
  const out: string[] = [];
  for (const kernel of ['add', 'lab'] as const) {
    const ofKernel = rows.filter((r) => r.kernel === kernel).sort((a, b) => a.n - b.n);
    const small = ofKernel[0];
    const large = ofKernel[ofKernel.length - 1];
    if (!small || !large) continue;
    const parts: string[] = [];
    const fastest = Object.entries(small.c).reduce<[string, number] | undefined>((m, e) => (!m || e[1] < m[1] ? e : m), undefined);
    if (small.c['sse4.2'] !== undefined) parts.push(`in cache (n = ${small.n}) wasm takes ${times(small.wasm_ns / small.c['sse4.2'])} the time of C at the same 128-bit width (-msse4.2)`);
    if (fastest) parts.push(`${times(small.wasm_ns / fastest[1])} the time of the fastest C build (${fastest[0]})`);
    // the bare add is bound by memory at the largest size; the lab's job stays bound by its arithmetic
    const bound = kernel === 'add' ? ' (memory-bound)' : '';
    if (large !== small && large.c.native !== undefined) parts.push(`at n = ${large.n}${bound} wasm takes ${times(large.wasm_ns / large.c.native)} the time of C -march=native`);
    if (parts.length) out.push(`${kernel === 'add' ? 'Bare add' : "The lab's job"}: ${parts.join('; ')}.`);
  }
  return out;
}

/** The table op whose thread-pool speed-up is set against each OpenMP kernel (same work per element). */
export const OPENMP_PAIRS: readonly { table: string; c: CKernel; what: string }[] = [{ table: 'add', c: 'addsum', what: 'add with the checksum (a data job)' }];
/** threads(2) speed-up over single-thread wasm >= this share of OpenMP's 2-thread speed-up over 1 thread. */
export const PARALLEL_TARGET = 0.9;
export const PARALLEL_MIN_N = 2048;

export interface ParallelCheck {
  what: string;
  n: number;
  threads_speedup: number;
  openmp_speedup: number;
  /** threads_speedup / openmp_speedup. */
  ratio: number;
  met: boolean;
}

/** "threads with 2 workers >= 0.9x of C OpenMP's 2-thread speed-up at every size >= 2048", per size measured. */
export function parallelChecks(rows: readonly KernelRow[], openmp: readonly OpenmpRow[]): ParallelCheck[] {
  const out: ParallelCheck[] = [];
  for (const pair of OPENMP_PAIRS) {
    const sizes = [...new Set(openmp.filter((o) => o.kernel === pair.c && o.n >= PARALLEL_MIN_N).map((o) => o.n))].sort((a, b) => a - b);
    for (const n of sizes) {
      const omp = (threads: number): OpenmpRow | undefined => openmp.find((o) => o.kernel === pair.c && o.n === n && o.threads === threads);
      const cell = (mode: string): KernelRow | undefined => rows.find((r) => r.op === pair.table && r.mode === mode && r.kernel === 'wasm' && r.dtype === 'int32' && r.n === n && (mode !== 'threads' || r.workers === 2));
      const [one, two, wasm, threads] = [omp(1), omp(2), cell('wasm'), cell('threads')];
      if (!one || !two || !wasm || !threads) continue;
      const threadsSpeedup = wasm.ns_per_element / threads.ns_per_element;
      const openmpSpeedup = one.ns_per_element / two.ns_per_element;
      const ratio = threadsSpeedup / openmpSpeedup;
      out.push({ what: pair.what, n, threads_speedup: threadsSpeedup, openmp_speedup: openmpSpeedup, ratio, met: ratio >= PARALLEL_TARGET });
    }
  }
  return out;
}

export function parallelLines(checks: readonly ParallelCheck[]): string[] {
  if (checks.length === 0) return [`threads(2) against C OpenMP's 2-thread speed-up: not measured (needs the OpenMP cells and the int32 add rows of wasm and threads at n >= ${PARALLEL_MIN_N})`];
  // OpenMP slower on 2 threads than on 1 means the second core was not free: the yardstick itself failed
  const busy = (c: ParallelCheck): string => (c.openmp_speedup < 1 ? '; OpenMP gained nothing from a second thread, so the machine was busy and the comparison says little' : '');
  return checks.map(
    (c) =>
      `${c.what}, n = ${c.n}: threads(2) ${times(c.threads_speedup)} over wasm, C OpenMP ${times(c.openmp_speedup)} over 1 thread: ${times(c.ratio)} of it (target >= ${PARALLEL_TARGET}x: ${c.met ? 'met' : 'MISSED'}${busy(c)})`,
  );
}

/** OpenMP's cells as a table: ns per element on 1 and 2 threads (p10-p90 of the batches), and the speed-up. */
export function openmpTable(openmp: readonly OpenmpRow[]): string {
  const keys = [...new Set(openmp.map((o) => `${o.kernel}|${o.n}`))];
  const cells = keys.map((key) => {
    const [kernel, n] = key.split('|') as [string, string];
    const at = (t: number): OpenmpRow | undefined => openmp.find((o) => o.kernel === kernel && String(o.n) === n && o.threads === t);
    const [one, two] = [at(1), at(2)];
    const show = (o: OpenmpRow | undefined): string => (o ? `${f3(o.ns_per_element)} (${f3(o.p10)}-${f3(o.p90)})` : '-');
    return [kernel, n, show(one), show(two), one && two ? times(one.ns_per_element / two.ns_per_element) : '-'];
  });
  return markdownTable(['kernel', 'n', '1 thread', '2 threads', 'speed-up'], cells, new Set([1, 2, 3, 4]));
}

export const AUTO_TARGET = 0.1;

export interface AutoCheck {
  op: string;
  dtype: string;
  n: number;
  picked: string;
  best: string;
  /** auto's time / the best fixed mode's, minus 1 (0.05: 5% slower). */
  slower: number;
  met: boolean;
  /**
   * Why a miss happened: the fastest mode was processes, which auto never picks ('processes, never
   * picked by auto'); auto picked another mode than the fastest ('thresholds'); or it picked the
   * fastest mode and still lost ('overhead or noise').
   */
  cause: AutoMissCause | null;
}

export type AutoMissCause = 'processes, never picked by auto' | 'thresholds' | 'overhead or noise';

/** The modes auto chooses between (src/engines/auto-engine.ts): the calling thread's kernel, or the thread pool. */
const AUTO_CHOICES = new Set(['ts', 'wasm', 'threads']);

/** auto against the fastest fixed mode with the same kernel, every (op, dtype, n) measured. */
export function autoChecks(rows: readonly KernelRow[]): AutoCheck[] {
  const out: AutoCheck[] = [];
  for (const row of rows.filter((r) => r.mode === 'auto')) {
    const fixed = rows.filter((r) => r.op === row.op && r.dtype === row.dtype && r.n === row.n && r.mode !== 'auto' && r.kernel === row.kernel);
    if (fixed.length === 0) continue;
    const best = fixed.reduce((x, y) => (y.ns_per_element < x.ns_per_element ? y : x));
    const slower = row.ns_per_element / best.ns_per_element - 1;
    const met = slower <= AUTO_TARGET;
    const picked = row.picked ?? 'auto';
    const cause: AutoMissCause | null = met ? null : !AUTO_CHOICES.has(best.mode) ? 'processes, never picked by auto' : picked !== best.mode ? 'thresholds' : 'overhead or noise';
    out.push({ op: row.op, dtype: row.dtype, n: row.n, picked, best: best.mode, slower, met, cause });
  }
  return out;
}

/** One line per (op, dtype): every size, then the verdict. */
export function autoLines(checks: readonly AutoCheck[]): string[] {
  const keys = [...new Set(checks.map((c) => `${c.op}|${c.dtype}`))];
  return keys.map((key) => {
    const of = checks.filter((c) => `${c.op}|${c.dtype}` === key);
    const sizes = of.map((c) => `${c.n}: ${c.picked}${c.picked === c.best ? '' : ` (best ${c.best})`} ${c.slower <= 0 ? 'as fast' : `+${Math.round(c.slower * 100)}%`}${c.met ? '' : ` MISSED (${c.cause})`}`);
    const missed = of.filter((c) => !c.met);
    const [op, dtype] = key.split('|');
    return `auto ${op} ${dtype} vs the best fixed mode (target <= ${AUTO_TARGET * 100}% slower at every size): ${missed.length === 0 ? 'met' : `MISSED at ${missed.length} of ${of.length} sizes`}; ${sizes.join(', ')}`;
  });
}

/** The pool cells' spread: p10 / p50 / p90 of the single calls, ns per element (p50 as '-' in older rows). */
export function spreadTable(rows: readonly KernelRow[]): string {
  const columns: [string, (r: KernelRow) => boolean][] = [
    ['threads', (r) => r.mode === 'threads' && r.kernel === 'wasm'],
    ['threads (ts kernel)', (r) => r.mode === 'threads' && r.kernel === 'ts'],
    ['processes', (r) => r.mode === 'processes' && r.kernel === 'wasm'],
    ['processes (ts kernel)', (r) => r.mode === 'processes' && r.kernel === 'ts'],
  ];
  const spread = rows.filter((r) => r.p10 !== undefined && r.p90 !== undefined);
  const keys = [...new Set(spread.map((r) => `${r.op}|${r.dtype}|${r.n}`))];
  const cells = keys.map((key) => {
    const [op, dtype, n] = key.split('|') as [string, string, string];
    const cell = spread.filter((r) => r.op === op && r.dtype === dtype && String(r.n) === n);
    return [op, dtype, n, ...columns.map(([, pick]) => {
      const r = cell.find(pick);
      return r ? `${f3(r.p10!)} / ${r.p50 === undefined ? '-' : f3(r.p50)} / ${f3(r.p90!)}` : '-';
    })];
  });
  return markdownTable(['op', 'dtype', 'n', ...columns.map(([c]) => c)], cells, new Set([2, 3, 4, 5, 6]));
}

/**
 * Where auto's switch points came from, when not from this run's CPU: thresholds measured on another
 * machine explain misses marked 'thresholds' (null when the CPUs match).
 */
export function thresholdsProvenance(measured: { cpu: string; date: string; by: string }, runCpu: string): string | null {
  if (measured.cpu === runCpu) return null;
  return `auto's thresholds (config/auto-thresholds.json) were measured on ${measured.cpu} (${measured.date.slice(0, 10)}), not on this run's ${runCpu}: misses marked "thresholds" may be theirs; \`${measured.by}\` re-measures them here`;
}
