// matmul: C = A x B, A rows x inner (m x k), B inner x cols (k x n). A band of
// rows of C needs the same rows of A and all of B. The kernels and their
// rounding order: src/kernels/matmul.ts and docs/matmul.md.

import { errors } from '../errors.js';
import { matmulScratchBytes, runMatmulBand } from '../kernels/matmul.js';
import type { Geometry, Operation, Shape } from './operation.js';

export const matmul: Operation = {
  op: 'matmul',
  bandNeedsOfB: 'all',
  operands: (g: Geometry) => ({ a: { rows: g.rows, cols: g.inner }, b: { rows: g.inner, cols: g.cols } }),
  geometryOf(a: Shape, b: Shape): Geometry {
    if (a.cols !== b.rows) throw errors.invalidMatrix(`a is ${a.rows}x${a.cols} and b is ${b.rows}x${b.cols}: matmul needs a's columns (${a.cols}) to equal b's rows (${b.rows})`, { param: 'b' });
    return { rows: a.rows, cols: b.cols, inner: a.cols };
  },
  scratchBytes: (dtype, g) => matmulScratchBytes(dtype, g.inner, g.cols),
  runBand: (kernels, band) => runMatmulBand(kernels, { dtype: band.dtype, k: band.inner, n: band.cols, firstRow: band.firstRow, rows: band.rows, a: band.a, b: band.b, c: band.out, scratch: band.scratch, seed: band.seed }),
  work: (g) => g.rows * g.cols * g.inner,
  flops: (g) => 2 * g.rows * g.cols * g.inner,
};
