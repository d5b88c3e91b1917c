// What one benchmark cell runs, per operation and mode. Written once here so
// the table, the auto thresholds and the tests of the benchmark all time the
// same thing.
//
// - 'add': caller data already in place. A and B are written into memory once;
//   each call then runs what the mode does for a data job minus the copy-in:
//   the add and the band checksum, on the calling thread (ts, wasm) or as band
//   tasks dispatched to the thread pool over the shared memory (threads), timed
//   wall-clock from dispatch to the last band done. A child process has no
//   shared memory, so `processes` runs the whole data job each call: its
//   bands of A and B cross the IPC pipe in, only the checksum and sample
//   come back (output 'summary').
// - 'random+add': the lab's per-request work through the public API,
//   `engine.run()` with a seed and output 'summary': place the job in memory,
//   generate A and B, add, checksum, sample, including any hand-off.

import { randomInt } from 'node:crypto';
import type { Engines } from '../src/engines/index.js';
import { placeJob } from '../src/engines/job-layout.js';
import { operation } from '../src/ops/index.js';
import type { JobSpec, KernelKind, Mode } from '../src/engines/job.js';
import { ARRAY_OF, type Dtype, type MatrixArray } from '../src/kernels/dtype.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { TsKernels } from '../src/kernels/ts-kernels.js';
import { WasmKernels, compileKernels } from '../src/kernels/wasm-kernels.js';
import { Arena } from '../src/memory/arena.js';
import type { Call } from './measure.js';

export const BENCH_OPS = ['add', 'random+add'] as const;
export type BenchOp = (typeof BENCH_OPS)[number];

export interface CaseSpec {
  op: BenchOp;
  mode: Mode;
  kernel: KernelKind;
  dtype: Dtype;
  n: number;
  /** Workers for the pools (ignored by ts and wasm; auto decides for itself). */
  workers: number;
}

export interface PreparedCase {
  call: Call;
  /** Workers the mode actually uses for this job. */
  workers: number;
  /** The mode auto picked (auto only). */
  picked?: string;
  dispose(): void;
}

/** Caller data for 'add' jobs: full-range int32 (so sums wrap) or floats in [-1, 1). */
export function callerData(dtype: Dtype, count: number): MatrixArray {
  const m = new ARRAY_OF[dtype](count);
  if (dtype === 'int32') for (let i = 0; i < count; i++) m[i] = randomInt(-0x80000000, 0x80000000) | 0;
  else for (let i = 0; i < count; i++) m[i] = Math.random() * 2 - 1;
  return m;
}

/**
 * The calling-thread kernels of the benchmark. The wasm kernels share the
 * engines' memory (as the wasm mode does); the baseline gets a plain memory of
 * its own (as the ts mode does).
 */
export class LocalKernels {
  readonly wasm: { kernels: Kernels; arena: Arena };
  readonly ts: { kernels: Kernels; arena: Arena };

  constructor(engines: Engines) {
    this.wasm = { kernels: new WasmKernels(compileKernels().module, engines.arena.memory), arena: engines.arena };
    const tsArena = new Arena({ shared: false });
    this.ts = { kernels: new TsKernels(tsArena.memory), arena: tsArena };
  }
}

function dataJob(spec: CaseSpec, a: MatrixArray, b: MatrixArray): JobSpec {
  return { op: 'add', dtype: spec.dtype, rows: spec.n, cols: spec.n, source: { kind: 'data', a, b }, output: 'summary', kernel: spec.kernel };
}

/** One band on the calling thread, over data placed once. */
function inPlaceLocal(local: { kernels: Kernels; arena: Arena }, job: JobSpec): PreparedCase {
  const placed = placeJob(local.arena, job, 1);
  const band = placed.bands[0]!;
  const op = operation(job.op);
  return { call: () => op.runBand(local.kernels, band), workers: 1, dispose: () => placed.free() };
}

/** Band tasks on the thread pool, over data placed once in the shared memory. */
function inPlaceThreads(engines: Engines, job: JobSpec, workers: number): PreparedCase {
  const prepared = engines.threads.prepare(job, workers);
  return { call: () => prepared.run(), workers, dispose: () => prepared.free() };
}

export function prepareCase(engines: Engines, local: LocalKernels, spec: CaseSpec, data: { a: MatrixArray; b: MatrixArray }): PreparedCase {
  const pooled = spec.mode === 'threads' || spec.mode === 'processes';
  const workers = pooled ? spec.workers : 1;
  if (spec.op === 'random+add') {
    const job: JobSpec = {
      op: 'add',
      dtype: spec.dtype,
      rows: spec.n,
      cols: spec.n,
      source: { kind: 'random', seed: 20240501 },
      output: 'summary',
      kernel: spec.kernel,
      workers: pooled ? workers : undefined,
    };
    const engine = engines.get(spec.mode);
    if (spec.mode === 'auto') {
      const choice = engines.auto.choose(job);
      return { call: () => engine.run(job), workers: choice.workers, picked: choice.engine.mode, dispose: () => {} };
    }
    return { call: () => engine.run(job), workers, dispose: () => {} };
  }
  const job = dataJob(spec, data.a, data.b);
  switch (spec.mode) {
    case 'ts':
    case 'wasm':
      return inPlaceLocal(local[spec.mode], job);
    case 'threads':
      return inPlaceThreads(engines, job, workers);
    case 'processes':
      return { call: () => engines.processes.run({ ...job, workers }), workers, dispose: () => {} };
    case 'cluster':
      throw new Error('the in-process bench does not measure the cluster mode (it needs NATS and worker hosts)');
    case 'auto': {
      const choice = engines.auto.choose(job);
      const picked = choice.engine.mode;
      const prepared = picked === 'threads' ? inPlaceThreads(engines, job, choice.workers) : inPlaceLocal(local[spec.kernel], job);
      return { ...prepared, picked };
    }
  }
}
