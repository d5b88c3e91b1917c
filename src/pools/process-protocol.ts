// Messages between the process pool and a kernel child process, sent over the
// IPC channel with serialization: 'advanced' (typed arrays travel as binary,
// not JSON). For random jobs only the seed goes in and only the checksum (and
// the sample, for the band holding row 0) comes back: nothing large crosses
// the pipe unless the caller needs the full result.

import type { MatrixArray } from '../kernels/dtype.js';
import type { Dtype, KernelKind, Op } from '../vocabulary.js';

export interface ProcessTask {
  op: Op;
  dtype: Dtype;
  kernel: KernelKind;
  /** The output's columns and matmul's k (cols for element-wise ops). */
  cols: number;
  inner: number;
  firstRow: number;
  rows: number;
  /** Random job: the seed. Data job: the band's rows of A, and of B what the op's band needs (its rows, or all of B). */
  seed?: number;
  a?: MatrixArray;
  b?: MatrixArray;
  /** Send the band's output back (full results). */
  wantOutput: boolean;
  /** Send the first values of the band's first row back (the band holds row 0). */
  wantSample: number;
}

export interface ProcessResult {
  checksum: number;
  sample?: number[];
  out?: MatrixArray;
}

export type ToChild = { type: 'task'; id: number; task: ProcessTask } | { type: 'exit' };
export type FromChild =
  | { type: 'ready'; simd: boolean }
  | { type: 'result'; id: number; result: ProcessResult }
  | { type: 'error'; id: number; message: string };
