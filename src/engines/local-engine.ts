// The `ts` and `wasm` modes: the whole job as one band, on one thread.
// A small job runs on the calling thread: nothing is dispatched, so it pays no
// hand-off at all. A large one would hold the calling thread (the one that
// accepts connections and answers /healthz) for as long as the kernel runs,
// and could not be stopped at its deadline; it runs instead, still as one band
// with the same kernel, on a dedicated kernel thread (the `local` pool), where
// --timeout stops it like any pool job.

import { performance } from 'node:perf_hooks';
import { errors } from '../errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { operation } from '../ops/index.js';
import type { Arena } from '../memory/arena.js';
import type { Engine, EngineStats, JobResult, JobSpec } from './job.js';
import { checkStillWanted, geometryOf, jobResult, placeJob, validateJob } from './job-layout.js';

/**
 * Jobs of up to this much work (operation.work(): elements for element-wise ops, multiply-adds for
 * matmul; 512 x 512 elements) run on the calling thread. Measured here, the largest
 * such job takes 0.25 ms (wasm, int32) to 1.6 ms (TS, float64, on a loaded machine): never long enough
 * to delay another request noticeably. Larger jobs run on the local pool.
 */
export const INLINE_MAX_ELEMENTS = 512 * 512;

/** Where large jobs run: a one-band job on a dedicated kernel thread with the same kernels. */
export type Offload = Pick<Engine, 'run'>;

export class LocalEngine implements Engine {
  readonly mode: 'ts' | 'wasm';
  readonly maxWorkers = 1;
  readonly #kernels: Kernels;
  readonly #arena: Arena;
  readonly #offload: Offload | undefined;
  readonly #inlineMaxElements: number;

  /** Without `offload`, every job runs on the calling thread (benchmarks that measure the bare kernel). */
  constructor(kernels: Kernels, arena: Arena, offload?: Offload, inlineMaxElements = INLINE_MAX_ELEMENTS) {
    this.mode = kernels.kind;
    this.#kernels = kernels;
    this.#arena = arena;
    this.#offload = offload;
    this.#inlineMaxElements = inlineMaxElements;
  }

  /** True when a job is small enough for the calling thread (at most inlineMaxElements of work). */
  isSmall(job: JobSpec): boolean {
    return operation(job.op).work(geometryOf(job)) <= this.#inlineMaxElements;
  }

  /** True when a job runs on the calling thread (small, or no offload pool). */
  runsInline(job: JobSpec): boolean {
    return this.#offload === undefined || this.isSmall(job);
  }

  async run(job: JobSpec): Promise<JobResult> {
    if (this.runsInline(job)) return this.runSync(job);
    // the local pool's engine validates the job (one worker, like this mode)
    const result = await this.#offload!.run({ ...job, kernel: this.mode, workers: 1 });
    return { ...result, mode: this.mode };
  }

  /**
   * The job on the calling thread, synchronously (benchmarks and callers that must not yield). A
   * running kernel cannot be stopped, so the deadline is checked before it starts and after it ends:
   * a job that ran past it fails with TIMEOUT like a pool job would.
   */
  runSync(job: JobSpec): JobResult {
    validateJob(job, 1, 1);
    checkStillWanted(job);
    const placed = placeJob(this.#arena, job, 1);
    try {
      const t0 = performance.now();
      const checksum = operation(job.op).runBand(this.#kernels, placed.bands[0]!);
      const t1 = performance.now();
      if (job.deadline !== undefined && t1 > job.deadline) throw errors.timeout('the job ran past its deadline');
      const output = job.output === 'full' ? placed.output() : undefined;
      return jobResult(job, { mode: this.mode, kernel: this.mode, workers: 1, checksums: [checksum], seconds: (t1 - t0) / 1000, sample: placed.sample(), output });
    } finally {
      placed.free();
    }
  }

  stats(): EngineStats {
    return { size: 1, busy: 0, queued: 0, restarts: 0, outcomes: {}, counters: {} };
  }

  async close(): Promise<void> {}
}
