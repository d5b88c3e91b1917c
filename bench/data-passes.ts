// The element-wise data cells of bench:kernels (`--ops data-passes`): the add
// kernel on caller data in place, one band on the calling thread, three ways:
//
// - bare:     out = a + b, no checksum (Kernels.binary): the roofline's kernel;
// - fused:    out = a + b and its checksum in the same pass (binaryChecksum):
//             what runBand, and so every mode, runs for a data job;
// - two-pass: the add, then the checksum over the output (binary + checksum):
//             what data jobs ran before the fused kernel, for the record.
//
// Traffic is counted as bytes the pass moves: bare and fused read A and B and
// write the output (3 x element bytes per element; the fused checksum reads
// nothing more); two-pass reads the output again (4 x). The target of issue 14,
// "data add within 1.15x of the bare add at n >= 500", is judged on fused /
// bare of the wasm kernel, every dtype. The three variants of a cell are
// measured interleaved batch by batch (bare, fused, two-pass, bare, ...), so a
// busy spell of the machine falls on all three alike: a variant reports the
// median of its batches and the fastest and slowest, and fused / bare is the
// median of the ratios of batches timed side by side.
//
// The ts cells run after all the wasm cells, dtype by dtype, n ascending (a
// fixed order). Each TS loop is compiled per op and dtype (ts-kernels.ts), and
// the checksum loop only ever sees a Uint32Array, so earlier cells cannot make
// them polymorphic.

import { ELEMENT_BYTES, viewOf, type Dtype } from '../src/kernels/dtype.js';
import { WORDS_PER_ELEMENT } from '../src/kernels/kernels.js';
import type { KernelKind } from '../src/vocabulary.js';
import { callerData, type LocalKernels } from './cases.js';
import { performance } from 'node:perf_hooks';
import { summarize, type MeasureOptions } from './measure.js';

export const PASS_SIZES = [64, 500, 1024, 2048, 4096];
export const PASS_KERNELS: KernelKind[] = ['wasm', 'ts'];
export const PASS_VARIANTS = ['bare', 'fused', 'two_pass'] as const;
export type PassVariant = (typeof PASS_VARIANTS)[number];
/** Bytes moved per element, in element sizes: read A, read B, write out (and two-pass reads out again). */
export const TRAFFIC: Record<PassVariant, number> = { bare: 3, fused: 3, two_pass: 4 };
/** For the three variants of a cell together, per round (the section stays near a minute). */
export const PASS_MEASURE: MeasureOptions = { warmupMs: 15, batchMs: 4, budgetMs: 240, minRepeats: 5, maxRepeats: 15 };
/** The target: fused / bare at most this, for n >= TARGET_FROM_N. */
export const TARGET_RATIO = 1.15;
export const TARGET_FROM_N = 500;

export interface PassCell {
  /** Median of the rounds' medians; min and max: fastest and slowest batch of all rounds. */
  ns_per_element: number;
  min: number;
  max: number;
  /** Bytes moved (TRAFFIC) per ns. */
  gb_per_s: number;
}

export interface PassRow {
  op: 'add';
  kernel: KernelKind;
  dtype: Dtype;
  n: number;
  bare: PassCell;
  fused: PassCell;
  two_pass: PassCell;
  /** fused / bare time (1.00: the checksum is free): the median of the ratios of batches timed side by side. */
  fused_vs_bare: number;
  two_pass_vs_bare: number;
}

export interface PassOptions {
  sizes: number[];
  dtypes: Dtype[];
  kernels: KernelKind[];
  rounds: number;
  measure: MeasureOptions;
}

/** Every cell, wasm first, then ts; progress lines as it goes. */
export function measurePasses(local: LocalKernels, options: PassOptions, progress: (line: string) => void): PassRow[] {
  const rows: PassRow[] = [];
  for (const kernel of options.kernels)
    for (const dtype of options.dtypes)
      for (const n of options.sizes) {
        const row = measureCell(local[kernel], kernel, dtype, n, options);
        rows.push(row);
        progress(`  data add ${kernel} ${dtype} n=${n}: bare ${row.bare.ns_per_element.toFixed(3)}, fused ${row.fused.ns_per_element.toFixed(3)}, two-pass ${row.two_pass.ns_per_element.toFixed(3)} ns/element`);
      }
  return rows;
}

function measureCell(local: LocalKernels['wasm'], kernel: KernelKind, dtype: Dtype, n: number, options: PassOptions): PassRow {
  const count = n * n;
  const bytes = count * ELEMENT_BYTES[dtype];
  const words = count * WORDS_PER_ELEMENT[dtype];
  const [a, b, out] = [0, 1, 2].map(() => local.arena.alloc(bytes)) as [number, number, number];
  try {
    // caller data, written once (views made after the allocations: an alloc may grow the memory)
    viewOf(dtype, local.arena.memory.buffer, a, count).set(callerData(dtype, count));
    viewOf(dtype, local.arena.memory.buffer, b, count).set(callerData(dtype, count));
    const k = local.kernels;
    const calls: Record<PassVariant, () => unknown> = {
      bare: () => k.binary('add', dtype, a, b, out, count),
      fused: () => k.binaryChecksum('add', dtype, a, b, out, count, 0),
      two_pass: () => {
        k.binary('add', dtype, a, b, out, count);
        return k.checksum(out, words, 0);
      },
    };
    const batches = measureInterleaved(calls, options.measure, options.rounds);
    const cell = (v: PassVariant): PassCell => {
      const t = summarize(batches[v].map((seconds) => (seconds * 1e9) / count));
      const ns = round4(t.median);
      return { ns_per_element: ns, min: round4(t.min), max: round4(t.max), gb_per_s: round4((TRAFFIC[v] * ELEMENT_BYTES[dtype]) / ns) };
    };
    const sideBySide = (v: PassVariant): number => round4(summarize(batches[v].map((t, i) => t / batches.bare[i]!)).median);
    return { op: 'add', kernel, dtype, n, bare: cell('bare'), fused: cell('fused'), two_pass: cell('two_pass'), fused_vs_bare: sideBySide('fused'), two_pass_vs_bare: sideBySide('two_pass') };
  } finally {
    for (const p of [a, b, out]) local.arena.free(p);
  }
}

/**
 * Seconds per call of each variant, batch by batch, the variants taking turns:
 * a warm-up of each, then `rounds` times the measure's repeats of one batch of
 * each. One batch size for all (from the slowest variant's warm-up), so batch
 * i of every variant covers about the same stretch of time.
 */
function measureInterleaved(calls: Record<PassVariant, () => unknown>, options: MeasureOptions, rounds: number): Record<PassVariant, number[]> {
  let perCallMs = 0;
  for (const v of PASS_VARIANTS) {
    let n = 0;
    const t0 = performance.now();
    do {
      calls[v]();
      n++;
    } while (n < 2 || performance.now() - t0 < options.warmupMs);
    perCallMs = Math.max(perCallMs, (performance.now() - t0) / n);
  }
  const batch = Math.max(1, Math.round(options.batchMs / perCallMs));
  const repeats = Math.min(options.maxRepeats, Math.max(options.minRepeats, Math.floor(options.budgetMs / (batch * perCallMs * PASS_VARIANTS.length))));
  const out: Record<PassVariant, number[]> = { bare: [], fused: [], two_pass: [] };
  for (let i = 0; i < rounds * repeats; i++)
    for (const v of PASS_VARIANTS) {
      const call = calls[v];
      const t0 = performance.now();
      for (let j = 0; j < batch; j++) call();
      out[v].push((performance.now() - t0) / 1000 / batch);
    }
  return out;
}

/** The target, read off the rows: the worst wasm fused / bare at n >= 500, per dtype measured; undefined without such cells. */
export function passTarget(rows: readonly PassRow[]): { text: string; met: boolean } | undefined {
  const judged = rows.filter((r) => r.kernel === 'wasm' && r.n >= TARGET_FROM_N);
  if (judged.length === 0) return undefined;
  const worst = judged.reduce((x, y) => (y.fused_vs_bare > x.fused_vs_bare ? y : x));
  const met = worst.fused_vs_bare <= TARGET_RATIO;
  const dtypes = [...new Set(judged.map((r) => r.dtype))].join(', ');
  return {
    met,
    text: `data add within ${TARGET_RATIO}x of the bare add at n >= ${TARGET_FROM_N} (wasm, fused / bare, ${dtypes}): worst ${worst.fused_vs_bare.toFixed(2)}x (${worst.dtype} n=${worst.n}): ${met ? 'met' : 'MISSED'}`,
  };
}

/** The rows as aligned text columns (stdout of bench:kernels). */
export function formatPasses(rows: readonly PassRow[]): string {
  const header = ['kernel', 'dtype', 'n', 'bare ns', '(min-max)', 'GB/s', 'fused ns', '(min-max)', 'GB/s', 'two-pass ns', 'GB/s', 'fused/bare', 'two-pass/bare'];
  const cells = rows.map((r) => [
    r.kernel,
    r.dtype,
    String(r.n),
    ...[r.bare, r.fused].flatMap((c) => [c.ns_per_element.toFixed(3), `(${c.min.toFixed(3)}-${c.max.toFixed(3)})`, c.gb_per_s.toFixed(1)]),
    r.two_pass.ns_per_element.toFixed(3),
    r.two_pass.gb_per_s.toFixed(1),
    r.fused_vs_bare.toFixed(2),
    r.two_pass_vs_bare.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => (i >= 2 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

/** What the section prints: the method in two lines, the table and the target. */
export function passesText(rows: readonly PassRow[]): string {
  const target = passTarget(rows);
  return [
    '',
    `Data add, one band on one thread, caller data in place: bare (no checksum), fused (add + checksum in one pass: every mode's data job) and two-pass (add, then checksum), timed in turns batch by batch; ns/element median (fastest-slowest batch); the ratios are medians of side-by-side batch ratios`,
    `GB/s counts the bytes moved: bare and fused ${TRAFFIC.bare} x element bytes per element (read A and B, write the output; the checksum moves nothing more), two-pass ${TRAFFIC.two_pass} x (the output read again)`,
    formatPasses(rows),
    ...(target ? [`Target (issue 14, measured, never asserted): ${target.text}`] : []),
  ].join('\n');
}

function round4(x: number): number {
  return Number(x.toPrecision(4));
}
