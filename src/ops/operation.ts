// What an operation is, in the one place that says it: the shapes of its
// operands for a given output, what a band of output rows needs of them, the
// scratch a band needs, how a band runs on a set of kernels, and how much work
// a job is. Placement in shared memory, the split into bands, the slicing for
// process IPC, the checksum and the result (src/engines/job-layout.ts,
// processes-engine.ts, pools/process-worker.ts) are derived from it.

import type { Kernels } from '../kernels/kernels.js';
import type { Dtype, Op } from '../vocabulary.js';

export interface Shape {
  rows: number;
  cols: number;
}

/**
 * A job's geometry: the output is rows x cols; `inner` is matmul's k (A's
 * columns, B's rows). For element-wise ops inner equals cols.
 */
export interface Geometry {
  rows: number;
  cols: number;
  inner: number;
}

/** One band of output rows of one job, as a worker (or the calling thread) runs it. */
export interface OpBand {
  op: Op;
  dtype: Dtype;
  /** Columns of the output. */
  cols: number;
  /** Columns of A (matmul's k; cols for element-wise ops). */
  inner: number;
  /** First output row of the band in the whole output (the generator and checksum need it). */
  firstRow: number;
  rows: number;
  /**
   * Byte offsets: the band's first row of A and of the output, and of B the
   * band's first row (element-wise) or all of it (matmul); A and B unused for
   * random jobs. scratch: scratchBytes() bytes owned by the band while it runs.
   */
  a: number;
  b: number;
  out: number;
  scratch: number;
  /** Draw A and B from the generator with this seed; undefined when A and B hold caller data. */
  seed?: number | undefined;
}

export interface Operation {
  readonly op: Op;
  /** 'rows': a band needs the same rows of B as of A (element-wise); 'all': all of B (matmul). */
  readonly bandNeedsOfB: 'rows' | 'all';
  /** The shapes of A and B for a job of this geometry (a band of output rows always needs the same rows of A). */
  operands(g: Geometry): { a: Shape; b: Shape };
  /** The geometry of a job on operands of these shapes; throws INVALID_MATRIX (422) when they do not fit together. */
  geometryOf(a: Shape, b: Shape): Geometry;
  /** Bytes of scratch one band needs (0: none). */
  scratchBytes(dtype: Dtype, g: Geometry): number;
  /** Runs one band and returns its checksum part (unsigned); the parts add up (mod 2^32) to the whole output's. */
  runBand(kernels: Kernels, band: OpBand): number;
  /** Elementary steps of a job (elements for element-wise ops, multiply-adds for matmul): what size thresholds compare. */
  work(g: Geometry): number;
  /** Floating-point operations of a job, for GFLOPS. */
  flops(g: Geometry): number;
}
