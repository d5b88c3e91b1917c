// The `ts` and `wasm` modes: one band, the whole job, on the calling thread.
// Nothing is dispatched, so small jobs pay no hand-off at all.

import { performance } from 'node:perf_hooks';
import { runBand, type Kernels } from '../kernels/kernels.js';
import type { Arena } from '../memory/arena.js';
import type { Engine, EngineStats, JobResult, JobSpec } from './job.js';
import { checkStillWanted, combineChecksums, placeJob, validateJob } from './job-layout.js';

export class LocalEngine implements Engine {
  readonly mode: 'ts' | 'wasm';
  readonly maxWorkers = 1;
  readonly #kernels: Kernels;
  readonly #arena: Arena;
  #runs = 0;

  constructor(kernels: Kernels, arena: Arena) {
    this.mode = kernels.kind;
    this.#kernels = kernels;
    this.#arena = arena;
  }

  async run(job: JobSpec): Promise<JobResult> {
    return this.runSync(job);
  }

  /** The same, synchronously (benchmarks and callers that must not yield). */
  runSync(job: JobSpec): JobResult {
    validateJob({ ...job, workers: 1 }, 1);
    checkStillWanted(job);
    const placed = placeJob(this.#arena, job);
    try {
      this.#runs++;
      const t0 = performance.now();
      const [band] = placed.bands(1);
      const checksum = runBand(this.#kernels, band!);
      const kernelSeconds = (performance.now() - t0) / 1000;
      return {
        op: job.op,
        dtype: job.dtype,
        rows: job.rows,
        cols: job.cols,
        output: job.output === 'full' ? placed.output() : undefined,
        sample: placed.sample(),
        checksum: combineChecksums([checksum]),
        kernelSeconds,
        mode: this.mode,
        workers: 1,
        kernel: this.mode,
      };
    } finally {
      placed.free();
    }
  }

  stats(): EngineStats {
    return { size: 1, busy: 0, queued: 0, restarts: 0, outcomes: {} };
  }

  async close(): Promise<void> {}
}
