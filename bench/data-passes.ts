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
// measured interleaved, `rounds` times, so a busy spell of the machine falls
// on all three; a cell reports the median of its round medians and the
// fastest and slowest batch of all.
//
// The ts cells run after all the wasm cells, dtype by dtype, n ascending (a
// fixed order). Each TS loop is compiled per op and dtype (ts-kernels.ts), and
// the checksum loop only ever sees a Uint32Array, so earlier cells cannot make
// them polymorphic.

import { ELEMENT_BYTES, viewOf, type Dtype } from '../src/kernels/dtype.js';
import { WORDS_PER_ELEMENT } from '../src/kernels/kernels.js';
import type { KernelKind } from '../src/vocabulary.js';
import { callerData, type LocalKernels } from './cases.js';
import { measure, summarize, type MeasureOptions } from './measure.js';

export const PASS_SIZES = [64, 500, 1024, 2048, 4096];
export const PASS_KERNELS: KernelKind[] = ['wasm', 'ts'];
export const PASS_VARIANTS = ['bare', 'fused', 'two_pass'] as const;
export type PassVariant = (typeof PASS_VARIANTS)[number];
/** Bytes moved per element, in element sizes: read A, read B, write out (and two-pass reads out again). */
export const TRAFFIC: Record<PassVariant, number> = { bare: 3, fused: 3, two_pass: 4 };
/** Per variant: a short measurement (three variants x rounds per cell keep the section near a minute). */
export const PASS_MEASURE: MeasureOptions = { warmupMs: 15, batchMs: 4, budgetMs: 90, minRepeats: 5, maxRepeats: 11 };
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
  /** fused / bare time (1.00 = free checksum). */
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
export async function measurePasses(local: LocalKernels, options: PassOptions, progress: (line: string) => void): Promise<PassRow[]> {
  const rows: PassRow[] = [];
  for (const kernel of options.kernels)
    for (const dtype of options.dtypes)
      for (const n of options.sizes) {
        const row = await measureCell(local[kernel], kernel, dtype, n, options);
        rows.push(row);
        progress(`  data add ${kernel} ${dtype} n=${n}: bare ${row.bare.ns_per_element.toFixed(3)}, fused ${row.fused.ns_per_element.toFixed(3)}, two-pass ${row.two_pass.ns_per_element.toFixed(3)} ns/element`);
      }
  return rows;
}

async function measureCell(local: LocalKernels['wasm'], kernel: KernelKind, dtype: Dtype, n: number, options: PassOptions): Promise<PassRow> {
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
    const medians: Record<PassVariant, number[]> = { bare: [], fused: [], two_pass: [] };
    const extremes: Record<PassVariant, number[]> = { bare: [], fused: [], two_pass: [] };
    for (let round = 0; round < options.rounds; round++)
      for (const v of PASS_VARIANTS) {
        const t = await measure(calls[v], options.measure);
        medians[v].push(t.median);
        extremes[v].push(t.min, t.max);
      }
    const cell = (v: PassVariant): PassCell => {
      const perElement = (seconds: number): number => (seconds * 1e9) / count;
      const ns = round4(perElement(summarize(medians[v]).median));
      return { ns_per_element: ns, min: round4(perElement(Math.min(...extremes[v]))), max: round4(perElement(Math.max(...extremes[v]))), gb_per_s: round4((TRAFFIC[v] * ELEMENT_BYTES[dtype]) / ns) };
    };
    const [bare, fused, twoPass] = PASS_VARIANTS.map(cell) as [PassCell, PassCell, PassCell];
    return { op: 'add', kernel, dtype, n, bare, fused, two_pass: twoPass, fused_vs_bare: round4(fused.ns_per_element / bare.ns_per_element), two_pass_vs_bare: round4(twoPass.ns_per_element / bare.ns_per_element) };
  } finally {
    for (const p of [a, b, out]) local.arena.free(p);
  }
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
    `Data add, one band on one thread, caller data in place: bare (no checksum), fused (add + checksum in one pass: every mode's data job) and two-pass (add, then checksum); ns/element median (fastest-slowest batch)`,
    `GB/s counts the bytes moved: bare and fused ${TRAFFIC.bare} x element bytes per element (read A and B, write the output; the checksum moves nothing more), two-pass ${TRAFFIC.two_pass} x (the output read again)`,
    formatPasses(rows),
    ...(target ? [`Target (issue 14, measured, never asserted): ${target.text}`] : []),
  ].join('\n');
}

function round4(x: number): number {
  return Number(x.toPrecision(4));
}
