// add, sub, mul: out[i] = a[i] op b[i]; A, B and the output share one shape.

import { errors } from '../errors.js';
import { runBand } from '../kernels/kernels.js';
import type { ElementwiseOp } from '../vocabulary.js';
import type { Geometry, Operation, Shape } from './operation.js';

export function elementwise(op: ElementwiseOp): Operation {
  return {
    op,
    bandNeedsOfB: 'rows',
    operands: (g: Geometry) => ({ a: { rows: g.rows, cols: g.cols }, b: { rows: g.rows, cols: g.cols } }),
    geometryOf(a: Shape, b: Shape): Geometry {
      if (a.rows !== b.rows || a.cols !== b.cols) throw errors.invalidMatrix(`a is ${a.rows}x${a.cols} but b is ${b.rows}x${b.cols}; ${op} needs one shape`, { param: 'b' });
      return { rows: a.rows, cols: a.cols, inner: a.cols };
    },
    scratchBytes: () => 0,
    runBand: (kernels, band) => runBand(kernels, op, band),
    work: (g) => g.rows * g.cols,
    flops: (g) => g.rows * g.cols,
  };
}
