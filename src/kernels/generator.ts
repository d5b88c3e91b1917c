// The generator and checksum definitions in plain TypeScript: the reference the
// WASM kernels (assembly/kernels.ts) must match bit for bit. The README states
// the same definitions for clients in other languages.

import type { Dtype, MatrixArray } from './dtype.js';

/** lowbias32 (Chris Wellons' hash-prospector): a bijective 32-bit mixer. Returns int32 bits. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

/** Weyl step between consecutive words of one row's stream. */
export const GOLDEN = 0x9e3779b9 | 0;

/** The stream key of `row` of `matrix` (0 = A, 1 = B) for `seed`. Unsigned. */
export function rowKey(seed: number, matrix: number, row: number): number {
  const s = mix32((seed ^ 0x243f6a88) | 0);
  const m = mix32((s + Math.imul(0x85ebca77, matrix + 1)) | 0);
  return mix32((m + Math.imul(0xc2b2ae3d, row + 1)) | 0) >>> 0;
}

// Rows of values, one loop per dtype: `count` values of columns firstCol.. of
// the row whose stream key is `key`, written from index `at`. The counter
// advances by GOLDEN per word (a Weyl sequence), exactly as the SIMD kernel's
// lanes do; a float64 value takes two words.

export function fillInt32(out: Int32Array, at: number, count: number, key: number, firstCol: number): void {
  let ctr = (key + Math.imul(GOLDEN, firstCol)) | 0;
  for (let c = 0; c < count; c++) {
    out[at + c] = Math.imul(mix32(ctr) >>> 8, 100) >>> 24;
    ctr = (ctr + GOLDEN) | 0;
  }
}

export function fillFloat32(out: Float32Array, at: number, count: number, key: number, firstCol: number): void {
  let ctr = (key + Math.imul(GOLDEN, firstCol)) | 0;
  for (let c = 0; c < count; c++) {
    out[at + c] = (mix32(ctr) >>> 8) * 5.9604644775390625e-8;
    ctr = (ctr + GOLDEN) | 0;
  }
}

export function fillFloat64(out: Float64Array, at: number, count: number, key: number, firstCol: number): void {
  let ctr = (key + Math.imul(GOLDEN, 2 * firstCol)) | 0;
  for (let c = 0; c < count; c++) {
    const hi = mix32(ctr) >>> 0;
    const lo = mix32((ctr + GOLDEN) | 0) >>> 11;
    out[at + c] = (hi * 2097152 + lo) * 1.1102230246251565e-16;
    ctr = (ctr + GOLDEN + GOLDEN) | 0;
  }
}

/** fillInt32, fillFloat32 or fillFloat64 by dtype (`out` must be the matching view). */
export function fillRow(dtype: Dtype, out: MatrixArray, at: number, count: number, key: number, firstCol: number): void {
  if (dtype === 'int32') fillInt32(out as Int32Array, at, count, key, firstCol);
  else if (dtype === 'float32') fillFloat32(out as Float32Array, at, count, key, firstCol);
  else fillFloat64(out as Float64Array, at, count, key, firstCol);
}

/** Formats a 32-bit checksum as the API shows it: 8 lowercase hex digits. */
export function formatChecksum(sum: number): string {
  return (sum >>> 0).toString(16).padStart(8, '0');
}
