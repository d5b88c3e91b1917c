// What every engine does around the kernels, written once and derived from the
// operation's description (src/ops/): validate a job, split its output rows
// into bands, place A, B, the output and the bands' scratch in an arena, read
// the sample and the output back, combine band checksums, build the result.

import { errors } from '../errors.js';
import { dtypeOf, ELEMENT_BYTES, viewOf, type MatrixArray } from '../kernels/dtype.js';
import { formatChecksum } from '../kernels/generator.js';
import type { Arena } from '../memory/arena.js';
import { operation, type Geometry, type OpBand } from '../ops/index.js';
import { isOp, type ConcreteMode, type KernelKind } from '../vocabulary.js';
import { SAMPLE_LENGTH, type JobResult, type JobSpec } from './job.js';

/** The job's geometry (inner defaults to cols). */
export function geometryOf(job: JobSpec): Geometry {
  return { rows: job.rows, cols: job.cols, inner: job.inner ?? job.cols };
}

/**
 * Checks what the HTTP layer should already have checked (engines are also used directly); returns
 * the most bands the job can run as. Every engine calls it once, before anything is placed. `asked`
 * overrides job.workers (an engine that fixes the count; no copy of the job is made).
 */
export function validateJob(job: JobSpec, maxWorkers: number, asked: number | undefined = job.workers): number {
  if (!isOp(job.op)) throw errors.badParameter(`unknown op ${String(job.op)}`, { param: 'op' });
  const g = geometryOf(job);
  for (const [name, v] of Object.entries(g)) {
    if (!Number.isInteger(v) || v < 1) throw errors.badParameter(`${name} must be an integer >= 1 (got ${v})`, { param: name });
  }
  const op = operation(job.op);
  const shapes = op.operands(g);
  // element-wise ops have no inner dimension of their own: it must be the output's columns
  if (op.bandNeedsOfB === 'rows' && g.inner !== g.cols) throw errors.badParameter(`${job.op} takes no inner dimension (got ${g.inner} for ${g.cols} columns)`, { param: 'inner' });
  const workers = asked ?? maxWorkers;
  if (!Number.isInteger(workers) || workers < 1 || workers > maxWorkers) {
    throw errors.badParameter(`workers must be an integer from 1 to ${maxWorkers} (got ${workers})`, { param: 'workers' });
  }
  if (job.source.kind === 'data') {
    for (const [name, m, shape] of [['a', job.source.a, shapes.a], ['b', job.source.b, shapes.b]] as const) {
      if (dtypeOf(m) !== job.dtype || m.length !== shape.rows * shape.cols) {
        throw errors.invalidMatrix(`${name} must hold ${shape.rows}x${shape.cols} = ${shape.rows * shape.cols} ${job.dtype} values`, { param: name });
      }
    }
  } else if (!Number.isInteger(job.source.seed) || job.source.seed < 0 || job.source.seed > 0xffffffff) {
    throw errors.badParameter(`seed must be an integer from 0 to 4294967295`, { param: 'seed' });
  }
  return Math.min(workers, job.rows);
}

/**
 * How many bands of rows a pool job runs as. An explicit `workers` is
 * honoured. Otherwise the job takes the workers free at dispatch time: all of
 * them on an idle pool (one job alone finishes soonest split), fewer under
 * load, and one band when every worker is busy or jobs are waiting. Then the
 * other workers are, or soon will be, running other jobs: more bands would not
 * finish this one sooner, and each band costs a hand-off (tens of us) on the
 * main thread and in a worker. The checksum and sample do not depend on it.
 */
export function chooseBands(job: JobSpec, maxWorkers: number, freeWorkers: number): number {
  const limit = validateJob(job, maxWorkers);
  return job.workers !== undefined ? limit : Math.min(limit, Math.max(1, freeWorkers));
}

/** Splits `rows` rows into `parts` contiguous bands of nearly equal size. */
export function splitRows(rows: number, parts: number): { firstRow: number; rows: number }[] {
  const base = Math.floor(rows / parts);
  const extra = rows % parts;
  const bands: { firstRow: number; rows: number }[] = [];
  let firstRow = 0;
  for (let i = 0; i < parts; i++) {
    const n = base + (i < extra ? 1 : 0);
    bands.push({ firstRow, rows: n });
    firstRow += n;
  }
  return bands;
}

/** Sum of band checksums, mod 2^32, as the API shows it. */
export function combineChecksums(parts: number[]): string {
  let sum = 0;
  for (const p of parts) sum = (sum + p) | 0;
  return formatChecksum(sum);
}

/** The one place a JobResult is built. */
export function jobResult(
  job: JobSpec,
  run: { mode: ConcreteMode; kernel: KernelKind; workers: number; checksums: number[]; seconds: number; sample: number[]; output: MatrixArray | undefined },
): JobResult {
  return {
    op: job.op,
    dtype: job.dtype,
    rows: job.rows,
    cols: job.cols,
    inner: job.inner ?? job.cols,
    output: job.output === 'full' ? run.output : undefined,
    sample: run.sample.slice(0, Math.min(SAMPLE_LENGTH, job.cols)),
    checksum: combineChecksums(run.checksums),
    kernelSeconds: run.seconds,
    mode: run.mode,
    workers: run.workers,
    kernel: run.kernel,
  };
}

/**
 * Rows firstRow..firstRow+rows of a job's output: the whole job on one host, or the part of it one
 * cluster host computes (src/engines/cluster-worker.ts). Bands keep their row numbers in the whole
 * output (the generator and the checksum depend on them); offsets are inside the window's regions.
 */
export interface RowWindow {
  firstRow: number;
  rows: number;
}

/** The whole output of a job. */
export const wholeJob = (job: JobSpec): RowWindow => ({ firstRow: 0, rows: job.rows });

/** The band tasks of one job's window (byte offsets inside its regions), from the operation's description. */
export function bandsOf(job: JobSpec, parts: number, at: { a: number; b: number; out: number; scratch: number[] }, window = wholeJob(job)): OpBand[] {
  const g = geometryOf(job);
  const op = operation(job.op);
  const size = ELEMENT_BYTES[job.dtype];
  const seed = job.source.kind === 'random' ? job.source.seed : undefined;
  return splitRows(window.rows, parts).map((s, i) => ({
    op: job.op,
    dtype: job.dtype,
    cols: g.cols,
    inner: g.inner,
    firstRow: window.firstRow + s.firstRow,
    rows: s.rows,
    a: at.a && at.a + s.firstRow * g.inner * size,
    b: at.b && (op.bandNeedsOfB === 'all' ? at.b : at.b + s.firstRow * g.cols * size),
    out: at.out + s.firstRow * g.cols * size,
    scratch: at.scratch[i] ?? 0,
    seed,
  }));
}

/** Elements of A and B that the rows of `window` need: its rows of A, and its rows (element-wise) or all (matmul) of B. */
export function operandsOf(job: JobSpec, window: RowWindow): { a: number; b: number } {
  const g = geometryOf(job);
  const op = operation(job.op);
  const b = op.operands(g).b;
  return { a: window.rows * g.inner, b: op.bandNeedsOfB === 'all' ? b.rows * b.cols : window.rows * g.cols };
}

/** A job's A, B, output and scratch regions in an arena. The caller must call free() once the job has settled. */
export interface PlacedJob {
  /** Band descriptors, one per part. */
  bands: OpBand[];
  sample(): number[];
  /** A copy of the output: the regions are reused after free(). */
  output(): MatrixArray;
  free(): void;
}

/**
 * Places a job's window (default: the whole job) for `parts` bands: random jobs draw A and B in the
 * kernels, so only the output (and scratch) needs memory. For caller data, source.a and source.b hold
 * what the window needs (operandsOf): for the whole job, all of A and B.
 */
export function placeJob(arena: Arena, job: JobSpec, parts: number, window = wholeJob(job)): PlacedJob {
  const { dtype } = job;
  const g = geometryOf(job);
  const op = operation(job.op);
  const size = ELEMENT_BYTES[dtype];
  const operands = operandsOf(job, window);
  const data = job.source.kind === 'data';
  const scratchBytes = op.scratchBytes(dtype, g);
  const outElements = window.rows * g.cols;
  const sizes = [outElements * size];
  if (data) sizes.push(operands.a * size, operands.b * size);
  if (scratchBytes > 0) for (let i = 0; i < parts; i++) sizes.push(scratchBytes);
  const allocated: number[] = [];
  try {
    for (const bytes of sizes) allocated.push(arena.alloc(bytes));
  } catch (e) {
    for (const p of allocated) arena.free(p);
    throw e;
  }
  const out = allocated[0]!;
  const a = data ? allocated[1]! : 0;
  const b = data ? allocated[2]! : 0;
  const scratch = allocated.slice(data ? 3 : 1);
  // the buffer is read after the allocations: an alloc may have grown the memory
  if (job.source.kind === 'data') {
    viewOf(dtype, arena.memory.buffer, a, operands.a).set(job.source.a.subarray(0, operands.a));
    viewOf(dtype, arena.memory.buffer, b, operands.b).set(job.source.b.subarray(0, operands.b));
  }
  let freed = false;
  return {
    bands: bandsOf(job, parts, { a, b, out, scratch }, window),
    sample: () => Array.from(viewOf(dtype, arena.memory.buffer, out, Math.min(SAMPLE_LENGTH, g.cols))),
    output: () => viewOf(dtype, arena.memory.buffer, out, outElements).slice(),
    free: () => {
      if (freed) return;
      freed = true;
      for (const p of allocated) arena.free(p);
    },
  };
}

/** Throws if the job should not start: its client went away or its deadline passed. */
export function checkStillWanted(job: JobSpec): void {
  if (job.signal?.aborted) throw errors.cancelled('the client went away before the job started');
  if (job.deadline !== undefined && performance.now() >= job.deadline) throw errors.timeout('the job waited past its deadline');
}
