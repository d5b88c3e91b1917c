// The benchmark's rows, its printed table, and the issue's performance
// targets read off the rows (measured, never asserted).

import type { KernelKind, Mode } from '../src/engines/job.js';
import type { Dtype } from '../src/kernels/dtype.js';
import type { BenchOp, CaseSpec } from './cases.js';
import { autoChecks, autoLines, type CSection, type RooflineRow } from './comparisons.js';
import type { PassRow } from './data-passes.js';
import type { MatmulRow } from './matmul.js';

/** One cell (workers: as used); the --json output is these fields minus min, max and picked. */
export interface Row extends CaseSpec {
  /** Median; min and max are the fastest and slowest batch, same unit. */
  ns_per_element: number;
  /** Bytes of the add (read A, read B, write the output: 3 x element bytes) per ns. */
  gb_per_s: number;
  /** ts median / this median in the same run: above 1 is faster than the baseline. */
  ratio_vs_ts: number | null;
  min: number;
  max: number;
  /** auto only: the mode it picked. */
  picked?: string;
  /**
   * Pool cells (threads, processes, auto when it picked a pool): p10, p50 and p90 of
   * the single calls of every round, ns per element; a hand-off is bimodal, a
   * batch median hides it.
   */
  p10?: number;
  p50?: number;
  p90?: number;
  /** Those calls, ns per element (not printed by --json). */
  calls?: number[];
}

/** A row as --json prints it (and the HTTP bench stores it): without the batch extremes and single calls. */
export type KernelRow = Omit<Row, 'min' | 'max' | 'calls'>;

export interface SpawnCostLine {
  what: string;
  median_ms: number;
  /** null for the persistent pool's line (computed from the table, not sampled). */
  min_ms: number | null;
  max_ms: number | null;
}

/** What `bench:kernels --json` prints: one object. */
export interface KernelBenchJson {
  context: { cpu: string; cores: number; node: string; simd: boolean; workers: number; rounds: number; date: string; /** How the TS baseline was kept from earlier cells' JIT state (absent in older results). */ ts_baseline?: string };
  rows: KernelRow[];
  /** The matmul rows (bench/matmul.ts), without the batch extremes. */
  matmul: Omit<MatmulRow, 'min' | 'max'>[];
  /** The data add bare, fused and two-pass (bench/data-passes.ts); absent in results written before it. */
  passes?: PassRow[];
  /** The bare add and the lab kernel against C built several ways; empty with --only-table. */
  roofline: RooflineRow[];
  roofline_skipped: string | null;
  /** The C builds, the CPU as gcc sees it, and C with OpenMP (absent in older results and with --only-table). */
  c?: CSection | null;
  spawn_costs: SpawnCostLine[];
}

const HEADER = ['op', 'mode', 'kernel', 'dtype', 'n', 'w', 'ns/element', '(min-max)', 'calls p10/p50/p90', 'GB/s', 'x ts'];

export function formatTable(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.op,
    r.mode === 'auto' && r.picked ? `auto>${r.picked}` : r.mode,
    r.kernel,
    r.dtype,
    String(r.n),
    String(r.workers),
    r.ns_per_element.toFixed(3),
    `(${r.min.toFixed(3)}-${r.max.toFixed(3)})`,
    r.p10 === undefined || r.p90 === undefined ? '-' : `${r.p10.toFixed(3)}/${r.p50?.toFixed(3) ?? '-'}/${r.p90.toFixed(3)}`,
    r.gb_per_s.toFixed(2),
    r.ratio_vs_ts === null ? '-' : r.ratio_vs_ts.toFixed(2),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => (i >= 4 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
  return [line(HEADER), ...cells.map(line)].join('\n');
}

type Find = (op: BenchOp, mode: Mode, kernel: KernelKind, dtype: Dtype, n: number) => KernelRow | undefined;

/** The issue's targets, for whatever cells this run measured. */
export function checkTargets(rows: readonly KernelRow[]): string[] {
  const find: Find = (op, mode, kernel, dtype, n) => rows.find((r) => r.op === op && r.mode === mode && r.kernel === kernel && r.dtype === dtype && r.n === n);
  const out: string[] = [];
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const ratio = (x: KernelRow | undefined, y: KernelRow | undefined): number | undefined => (x && y ? y.ns_per_element / x.ns_per_element : undefined);

  for (const dtype of ['int32', 'float32', 'float64'] as const) {
    const r = ratio(find('add', 'wasm', 'wasm', dtype, 256), find('add', 'ts', 'ts', dtype, 256));
    if (r !== undefined && dtype === 'int32') out.push(`add int32 wasm vs ts at n=256 (with the band checksum): ${r.toFixed(1)}x (target >= 8x: ${verdict(r >= 8)})`);
    const q = ratio(find('random+add', 'wasm', 'wasm', dtype, 500), find('random+add', 'ts', 'ts', dtype, 500));
    if (q !== undefined) out.push(`random+add ${dtype} wasm vs ts at n=500: ${q.toFixed(1)}x (target >= 5x: ${verdict(q >= 5)})`);
  }
  for (const n of [2048, 4096]) {
    const r = ratio(find('add', 'threads', 'wasm', 'int32', n), find('add', 'wasm', 'wasm', 'int32', n));
    if (r !== undefined) out.push(`add int32 threads(${find('add', 'threads', 'wasm', 'int32', n)!.workers}) vs wasm at n=${n}: ${r.toFixed(2)}x (target >= 1.8x: ${verdict(r >= 1.8)})`);
  }
  for (const dtype of ['int32', 'float32', 'float64'] as const) {
    const r = ratio(find('random+add', 'processes', 'wasm', dtype, 500), find('random+add', 'wasm', 'wasm', dtype, 500));
    if (r !== undefined) out.push(`random+add ${dtype} processes vs wasm at n=500: ${r.toFixed(2)}x (target >= 0.8x: ${verdict(r >= 0.8)})`);
  }
  // auto against the best fixed mode (same kernel) of the same cell, at every size
  out.push(...autoLines(autoChecks(rows)));
  return out;
}

export function formatReport(rows: Row[]): string {
  const targets = checkTargets(rows);
  return [formatTable(rows), '', 'Targets (issue 2):', ...targets.map((t) => `  ${t}`)].join('\n');
}

/** The table pivoted for the README: one line per (op, dtype, n), ns/element per mode, x ts in brackets. */
export function formatMarkdown(rows: readonly KernelRow[]): string {
  const columns: [string, (r: KernelRow) => boolean][] = [
    ['ts', (r) => r.mode === 'ts'],
    ['wasm', (r) => r.mode === 'wasm'],
    ['threads', (r) => r.mode === 'threads' && r.kernel === 'wasm'],
    ['threads (ts kernel)', (r) => r.mode === 'threads' && r.kernel === 'ts'],
    ['processes', (r) => r.mode === 'processes' && r.kernel === 'wasm'],
    ['processes (ts kernel)', (r) => r.mode === 'processes' && r.kernel === 'ts'],
    ['auto', (r) => r.mode === 'auto'],
  ];
  const lines = [`| op | dtype | n | ${columns.map(([c]) => c).join(' | ')} |`, `|---|---|--:|${columns.map(() => '--:').join('|')}|`];
  const keys = [...new Set(rows.map((r) => `${r.op}|${r.dtype}|${r.n}`))];
  for (const key of keys) {
    const [op, dtype, n] = key.split('|') as [string, string, string];
    const cell = rows.filter((r) => r.op === op && r.dtype === dtype && String(r.n) === n);
    const text = columns.map(([, pick]) => {
      const r = cell.find(pick);
      if (!r) return '-';
      const picked = r.mode === 'auto' && r.picked ? ` ${r.picked}` : '';
      return `${r.ns_per_element.toFixed(3)} (${r.ratio_vs_ts === null ? '-' : `${r.ratio_vs_ts.toFixed(1)}x`})${picked}`;
    });
    lines.push(`| ${op} | ${dtype} | ${n} | ${text.join(' | ')} |`);
  }
  return lines.join('\n');
}
