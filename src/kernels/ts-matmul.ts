// The pure-TypeScript matmul baseline, as a strong TS developer would write it
// while keeping the rounding order of the WASM kernel (docs/matmul.md): each
// C[i][j] = ((+0 + A[i][0]*B[0][j]) + A[i][1]*B[1][j]) + ..., k ascending, one
// rounding per multiply and per add. Loop order i-k-j with the C row as the
// accumulator keeps that order (every C[i][j] still sees p = 0, 1, ... in
// turn) while the innermost loop runs along contiguous rows of B and C. Two
// rows and four steps of k per pass over the rows: each B value loaded serves
// two rows, each C value loaded takes four steps. Columns
// are cut into strips and k into blocks so a block of B (KC x strip) stays in
// L2 across all rows. One loop per dtype, generated from one template (V8 sees
// one element kind per loop).

import type { Dtype, MatrixArray } from './dtype.js';
import { fillRow, rowKey } from './generator.js';
import { MATMUL_KC, MATMUL_NC_BYTES } from './matmul.js';

// The WASM kernel's blocks of k and columns (so a seeded band's block of B fits
// the same scratch): a block of B, 512 x (1024 float32 or 512 float64), is 2 MiB.
const KC = MATMUL_KC;
const STRIP_BYTES = MATMUL_NC_BYTES;

/**
 * For `rows` (1 or 2) rows r: C[ci + r*ldc ..+width) (+)= sum over p < kc of
 * A[ai + r*lda + p] * B[bi + p*ldb ..+width), p ascending. first: start from
 * +0 (the first block of k) instead of from C.
 */
type RowsUpdate = (A: MatrixArray, ai: number, lda: number, B: MatrixArray, bi: number, ldb: number, C: MatrixArray, ci: number, ldc: number, rows: number, kc: number, width: number, first: boolean) => void;

/** acc + a * b with the dtype's rounding: two roundings for floats (no FMA), wrapping for int32. */
const STEP: Record<Dtype, (acc: string, a: string, b: string) => string> = {
  int32: (acc, a, b) => `((${acc}) + Math.imul(${a}, ${b})) | 0`,
  float32: (acc, a, b) => `Math.fround(${acc} + Math.fround(${a} * ${b}))`,
  float64: (acc, a, b) => `${acc} + ${a} * ${b}`,
};

/**
 * The loop over j for R rows and P steps of k at once: each value of B loaded
 * once serves R rows, each C value loaded once takes P steps (R x P = 8
 * values of A in registers).
 */
function passOverRow(dtype: Dtype, R: number, P: number): string {
  const lines: string[] = [];
  for (let q = 0; q < P; q++) lines.push(`const x${q} = B[b${q} + j];`);
  for (let r = 0; r < R; r++) {
    let acc = `C[c${r} + j]`;
    for (let q = 0; q < P; q++) acc = STEP[dtype](acc, `a${r}${q}`, `x${q}`);
    lines.push(`C[c${r} + j] = ${acc};`);
  }
  const as: string[] = [];
  for (let r = 0; r < R; r++) for (let q = 0; q < P; q++) as.push(`a${r}${q} = A[ai + ${r} * lda + p + ${q}]`);
  const bs = Array.from({ length: P }, (_, q) => `b${q} = bi + (p + ${q}) * ldb`);
  return `{
        const ${as.join(', ')};
        const ${bs.join(', ')};
        for (let j = 0; j < width; j++) {
          ${lines.join('\n          ')}
        }
      }`;
}

function compileRowsUpdate(dtype: Dtype): RowsUpdate {
  const cs = (R: number) => Array.from({ length: R }, (_, r) => `c${r} = ci + ${r} * ldc`).join(', ');
  const body = `
    return function rowsUpdate(A, ai, lda, B, bi, ldb, C, ci, ldc, rows, kc, width, first) {
      if (first) for (let r = 0; r < rows; r++) C.fill(0, ci + r * ldc, ci + r * ldc + width);
      if (rows === 2) {
        const ${cs(2)};
        let p = 0;
        for (; p + 4 <= kc; p += 4) ${passOverRow(dtype, 2, 4)}
        for (; p < kc; p++) ${passOverRow(dtype, 2, 1)}
      } else {
        const ${cs(1)};
        let p = 0;
        for (; p + 4 <= kc; p += 4) ${passOverRow(dtype, 1, 4)}
        for (; p < kc; p++) ${passOverRow(dtype, 1, 1)}
      }
    };`;
  return new Function(body)() as RowsUpdate;
}

const ROWS_UPDATE: Record<Dtype, RowsUpdate> = {
  int32: compileRowsUpdate('int32'),
  float32: compileRowsUpdate('float32'),
  float64: compileRowsUpdate('float64'),
};

/** The views of one memory the baseline works through; indices are in elements of each view. */
export interface MatmulViews {
  arr: MatrixArray;
  u32: Uint32Array;
}

/** Shape of one band: rows of C from firstRow, inner dimension k, n columns. */
export interface BandShape {
  rows: number;
  k: number;
  n: number;
  firstRow: number;
}

/**
 * One band from caller data: A at element aAt (rows x k), B at bAt (k x n), C
 * at cAt (rows x n). Needs no scratch.
 */
export function matmulBandTs(dtype: Dtype, v: MatmulViews, aAt: number, bAt: number, cAt: number, shape: BandShape): void {
  const { rows, k, n } = shape;
  const update = ROWS_UPDATE[dtype];
  const { arr } = v;
  if (k === 0) arr.fill(0, cAt, cAt + rows * n);
  const strip = STRIP_BYTES >>> (dtype === 'float64' ? 3 : 2);
  for (let jc = 0; jc < n; jc += strip) {
    const width = Math.min(strip, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      for (let i = 0; i < rows; i += 2) {
        update(arr, aAt + i * k + pc, k, arr, bAt + pc * n + jc, n, arr, cAt + i * n + jc, n, Math.min(2, rows - i), kc, width, pc === 0);
      }
    }
  }
  canonicalizeNaNs(dtype, v, cAt, rows * n);
}

/**
 * One band with A and B drawn from the generator (matrices 0 and 1 of seed):
 * per strip and block of k, the block of B is drawn into scratch (element
 * index sAt, kc x width) and each pair of rows' piece of A after it, then used
 * as caller data would be. Fits in matmulScratchBytes(dtype, k, n).
 */
export function randomMatmulBandTs(dtype: Dtype, v: MatmulViews, cAt: number, sAt: number, shape: BandShape, seed: number): void {
  const { rows, k, n, firstRow } = shape;
  const update = ROWS_UPDATE[dtype];
  const { arr } = v;
  if (k === 0) arr.fill(0, cAt, cAt + rows * n);
  const strip = Math.min(n, STRIP_BYTES >>> (dtype === 'float64' ? 3 : 2));
  const aRows = sAt + Math.min(k, KC) * strip;
  for (let jc = 0; jc < n; jc += strip) {
    const width = Math.min(strip, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      for (let p = 0; p < kc; p++) fillRow(dtype, arr, sAt + p * width, width, rowKey(seed, 1, pc + p), jc);
      for (let i = 0; i < rows; i += 2) {
        const pair = Math.min(2, rows - i);
        for (let r = 0; r < pair; r++) fillRow(dtype, arr, aRows + r * kc, kc, rowKey(seed, 0, firstRow + i + r), pc);
        update(arr, aRows, kc, arr, sAt, width, arr, cAt + i * n + jc, n, pair, kc, width, pc === 0);
      }
    }
  }
  canonicalizeNaNs(dtype, v, cAt, rows * n);
}

/** Rewrites every NaN among `count` values from element `at` as the canonical quiet NaN (as the WASM kernel does). */
function canonicalizeNaNs(dtype: Dtype, v: MatmulViews, at: number, count: number): void {
  if (dtype === 'int32') return;
  const { arr, u32 } = v;
  for (let i = at; i < at + count; i++) {
    if (arr[i] === arr[i]) continue;
    if (dtype === 'float32') u32[i] = 0x7fc00000;
    else {
      u32[2 * i] = 0;
      u32[2 * i + 1] = 0x7ff80000;
    }
  }
}
