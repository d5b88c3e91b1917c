// One interface, two implementations (WASM in wasm-kernels.ts, pure TS in
// ts-kernels.ts), both over byte offsets into one WebAssembly.Memory. Engines
// and workers only see this interface, so `kernel: 'ts' | 'wasm'` swaps the
// implementation inside any mode.

import type { Dtype, ElementwiseOp, KernelKind } from '../vocabulary.js';

export interface Kernels {
  readonly kind: KernelKind;
  readonly memory: WebAssembly.Memory;
  /** out[i] = a[i] op b[i] for `count` elements; a, b, out are byte offsets. The bare kernel: no checksum. */
  binary(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number): void;
  /**
   * A data band in one pass: the same output as binary(), and returns the
   * checksum part of its words, the first being word number firstWord
   * (unsigned): equal to checksum(out, words, firstWord) afterwards, without
   * reading out back.
   */
  binaryChecksum(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number, firstWord: number): number;
  /** Writes `rows` generator rows firstRow.. of `matrix` (0 = A, 1 = B), `cols` values each, at byte offset ptr. */
  fill(dtype: Dtype, ptr: number, cols: number, firstRow: number, rows: number, seed: number, matrix: number): void;
  /**
   * The lab's job in one pass: writes `rows` rows firstRow.. of (generator
   * matrix A) op (generator matrix B) at byte offset out, without storing A or
   * B, and returns their checksum part (unsigned).
   */
  randomBinary(op: ElementwiseOp, dtype: Dtype, out: number, cols: number, firstRow: number, rows: number, seed: number): number;
  /** Checksum terms of `words` 32-bit words at ptr, the first being word number firstWord; unsigned. */
  checksum(ptr: number, words: number, firstWord: number): number;
  /**
   * Rows firstRow..firstRow+rows of C = A x B (see matmul.ts): a and c are byte
   * offsets of the band's first row of A (k values a row) and of C (n values a
   * row), b of all of B (k x n), scratch of matmulScratchBytes(dtype, k, n)
   * bytes. Returns the band's checksum part (unsigned).
   */
  matmul(dtype: Dtype, a: number, b: number, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number): number;
  /** The same band with A and B drawn from the generator (matrices 0 and 1 of `seed`), never stored whole. */
  randomMatmul(dtype: Dtype, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number, seed: number): number;
}

/** 32-bit words per element. */
export const WORDS_PER_ELEMENT: Record<Dtype, number> = { int32: 1, float32: 1, float64: 2 };

/** One band of rows of one element-wise job, as a worker (or the calling thread) runs it (its op apart). */
export interface Band {
  dtype: Dtype;
  cols: number;
  /** First row of the band in the whole matrix (the generator and checksum need it). */
  firstRow: number;
  rows: number;
  /** Byte offsets of the band's first element in A, B and the output (A and B unused for random jobs). */
  a: number;
  b: number;
  out: number;
  /** Draw A and B from the generator with this seed; undefined when A and B hold caller data. */
  seed?: number | undefined;
}

/**
 * Runs one band of `op` in one pass: generate (random jobs) or read A and B
 * (caller data), operate, store and checksum. Returns the band's checksum part
 * (unsigned). `op` is passed apart from the band so a caller's band object is
 * used as it is, never copied.
 */
export function runBand(k: Kernels, op: ElementwiseOp, band: Band): number {
  const { dtype, cols, firstRow, rows } = band;
  if (band.seed !== undefined) return k.randomBinary(op, dtype, band.out, cols, firstRow, rows, band.seed);
  const words = WORDS_PER_ELEMENT[dtype];
  return k.binaryChecksum(op, dtype, band.a, band.b, band.out, rows * cols, firstRow * cols * words);
}
