// What every engine does around the kernels, written once: validate a job,
// split its rows into bands, place A, B and the output in an arena, read the
// sample and the output back, combine band checksums.

import { errors } from '../errors.js';
import { dtypeOf, ELEMENT_BYTES, viewOf, type MatrixArray } from '../kernels/dtype.js';
import { formatChecksum } from '../kernels/generator.js';
import type { Band } from '../kernels/kernels.js';
import type { Arena } from '../memory/arena.js';
import { SAMPLE_LENGTH, type JobSpec } from './job.js';

/** Checks what the HTTP layer should already have checked; engines are also used directly. */
export function validateJob(job: JobSpec, maxWorkers: number): number {
  const { rows, cols } = job;
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1) {
    throw errors.badParameter(`rows and cols must be integers >= 1 (got ${rows} x ${cols})`, { param: 'rows' });
  }
  const workers = job.workers ?? maxWorkers;
  if (!Number.isInteger(workers) || workers < 1 || workers > maxWorkers) {
    throw errors.badParameter(`workers must be an integer from 1 to ${maxWorkers} (got ${workers})`, { param: 'workers' });
  }
  if (job.source.kind === 'data') {
    for (const [name, m] of [['a', job.source.a], ['b', job.source.b]] as const) {
      if (dtypeOf(m) !== job.dtype || m.length !== rows * cols) {
        throw errors.invalidMatrix(`${name} must hold ${rows * cols} ${job.dtype} values`, { param: name });
      }
    }
  } else if (!Number.isInteger(job.source.seed) || job.source.seed < 0 || job.source.seed > 0xffffffff) {
    throw errors.badParameter(`seed must be an integer from 0 to 4294967295`, { param: 'seed' });
  }
  return Math.min(workers, rows);
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

/** A job's A, B and output regions in an arena. The caller must call free() once the job has settled. */
export interface PlacedJob {
  a: number;
  b: number;
  out: number;
  /** Band descriptors (byte offsets inside the regions), one per part. */
  bands(parts: number): Band[];
  sample(): number[];
  /** A copy of the output: the regions are reused after free(). */
  output(): MatrixArray;
  free(): void;
}

export function placeJob(arena: Arena, job: JobSpec): PlacedJob {
  const { dtype, rows, cols } = job;
  const count = rows * cols;
  const bytes = count * ELEMENT_BYTES[dtype];
  const rowBytes = cols * ELEMENT_BYTES[dtype];
  // random jobs draw A and B in registers: only the output needs memory
  const regions = job.source.kind === 'data' ? 3 : 1;
  const allocated: number[] = [];
  try {
    for (let i = 0; i < regions; i++) allocated.push(arena.alloc(bytes));
  } catch (e) {
    for (const p of allocated) arena.free(p);
    throw e;
  }
  const out = allocated[0]!;
  const a = allocated[1] ?? 0;
  const b = allocated[2] ?? 0;
  // the buffer is read after the allocations: an alloc may have grown the memory
  if (job.source.kind === 'data') {
    viewOf(dtype, arena.memory.buffer, a, count).set(job.source.a);
    viewOf(dtype, arena.memory.buffer, b, count).set(job.source.b);
  }
  const seed = job.source.kind === 'random' ? job.source.seed : undefined;
  let freed = false;
  return {
    a,
    b,
    out,
    bands: (parts) =>
      splitRows(rows, parts).map((s) => ({
        op: job.op,
        dtype,
        cols,
        firstRow: s.firstRow,
        rows: s.rows,
        a: a && a + s.firstRow * rowBytes,
        b: b && b + s.firstRow * rowBytes,
        out: out + s.firstRow * rowBytes,
        seed,
      })),
    sample: () => Array.from(viewOf(dtype, arena.memory.buffer, out, Math.min(SAMPLE_LENGTH, cols))),
    output: () => viewOf(dtype, arena.memory.buffer, out, count).slice(),
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
