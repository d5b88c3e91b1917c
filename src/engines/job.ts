// The contract between callers (HTTP, benchmarks, tests) and the execution
// engines: what a job is, what it returns, what every engine offers.

import type { MatrixArray } from '../kernels/dtype.js';
import type { CancelSignal } from '../pools/pool.js';
import type { ConcreteMode, Dtype, KernelKind, Mode, Op } from '../vocabulary.js';

export { KERNELS, MODES, type ConcreteMode, type KernelKind, type Mode } from '../vocabulary.js';

/** Random A and B drawn from the generator (the lab's job), or caller data. */
export type JobSource =
  | { kind: 'random'; seed: number }
  | { kind: 'data'; a: MatrixArray; b: MatrixArray };

export interface JobSpec {
  op: Op;
  dtype: Dtype;
  /** The output's shape. */
  rows: number;
  cols: number;
  /** matmul's k: A is rows x inner, B inner x cols. Element-wise ops: omitted (or cols). */
  inner?: number;
  source: JobSource;
  /** 'full': return the whole result; 'summary': only sample + checksum (nothing large moves). */
  output: 'full' | 'summary';
  /** Default 'wasm'. The 'ts' and 'wasm' modes imply their own kernel and ignore this. */
  kernel?: KernelKind;
  /** Workers to split the job over, 1..engine.maxWorkers. Default: for pools, the workers free at dispatch (all when idle, 1 when busy); auto decides for auto. */
  workers?: number;
  /** Aborting cancels the job if it has not started (a disconnected client). An AbortSignal will do. */
  signal?: CancelSignal | undefined;
  /** Absolute deadline in performance.now() milliseconds; past it the job fails with TIMEOUT. */
  deadline?: number | undefined;
}

export interface JobResult {
  op: Op;
  dtype: Dtype;
  rows: number;
  cols: number;
  /** matmul's k (cols for element-wise ops). */
  inner: number;
  /** The whole result (row-major), only when output was 'full'. */
  output?: MatrixArray;
  /** The first (up to) 10 values of row 0. */
  sample: number[];
  /** The checksum of the whole result: 8 lowercase hex digits (see README "Checksum"). */
  checksum: string;
  /** Seconds of compute: from the moment the job's workers took it to the last band done; no queueing. */
  kernelSeconds: number;
  /** The mode that ran it (for auto: the mode it picked). */
  mode: ConcreteMode;
  workers: number;
  kernel: KernelKind;
}

export interface EngineStats {
  /** Workers in the pool (1 for the calling thread). */
  size: number;
  /** Workers running a band right now. */
  busy: number;
  /** Jobs waiting for a worker. */
  queued: number;
  /** Workers replaced since start (crash, hang, recycling). */
  restarts: number;
  /** Jobs ended since start, by outcome: 'ok' or an error code in lower case (pools only). */
  outcomes: Record<string, number>;
  /** What the workers count about themselves (thread pools: spin_paid, spin_missed, spin_skipped, spin_preempted); empty elsewhere. */
  counters?: Record<string, number>;
}

export interface Engine {
  readonly mode: Mode;
  /** The largest `workers` a job may ask for. */
  readonly maxWorkers: number;
  run(job: JobSpec): Promise<JobResult>;
  stats(): EngineStats;
  close(): Promise<void>;
}

export const SAMPLE_LENGTH = 10;
