// The `threads` mode: a persistent pool of worker_threads that all instantiate
// the one compiled module over the one shared memory. A job's A, B, output and
// the bands' scratch live in regions of that memory; each worker generates and
// computes its band of output rows in place (for matmul every band reads the
// one B). No matrix data is copied between threads.

import type { Arena } from '../memory/arena.js';
import { ThreadTransport, type ThreadTask } from '../pools/thread-transport.js';
import type { MatrixArray } from '../kernels/dtype.js';
import type { Engine, JobResult, JobSpec } from './job.js';
import { checkStillWanted, chooseBands, jobResult, placeJob, validateJob, type RowWindow } from './job-layout.js';
import type { PoolSettings } from './pool-settings.js';
import { PooledEngine } from './pooled-engine.js';

/** A job placed once in the shared memory, run as many times as wanted (benchmarks time it without the copy-in). */
export interface PreparedJob {
  workers: number;
  /** Runs every band once; resolves with the band checksums. */
  run(): Promise<number[]>;
  free(): void;
}

export class ThreadsEngine extends PooledEngine<ThreadTask, number> implements Engine {
  readonly mode = 'threads' as const;
  readonly #arena: Arena;

  /** `name` is for messages: "thread" for the threads mode, "local thread" for the ts/wasm modes' large jobs. */
  constructor(module: WebAssembly.Module, arena: Arena, settings: PoolSettings, name = 'thread') {
    super({
      name,
      size: settings.size,
      maxQueue: settings.maxQueue,
      maxTasksPerWorker: settings.maxTasksPerWorker,
      maxTasksJitter: settings.maxTasksJitter,
      gate: settings.gate,
      spawn: () => new ThreadTransport({ module, memory: arena.memory, spinMicros: settings.spinMicros }),
    });
    this.#arena = arena;
  }

  async run(job: JobSpec): Promise<JobResult> {
    const workers = chooseBands(job, this.maxWorkers, this.pool.freeWorkers());
    checkStillWanted(job);
    const kernel = job.kernel ?? 'wasm';
    const placed = placeJob(this.#arena, job, workers);
    try {
      const tasks = placed.bands.map((band) => ({ band, kernel }));
      const { results, seconds } = await this.pool.run(tasks, { signal: job.signal, deadline: job.deadline });
      const output = job.output === 'full' ? placed.output() : undefined;
      return jobResult(job, { mode: this.mode, kernel, workers, checksums: results, seconds, sample: placed.sample(), output });
    } finally {
      // the pool settles a job only when none of its bands is still running
      placed.free();
    }
  }

  /**
   * Rows `window` of a job as one band on one worker: a cluster host's share of a job
   * (cluster-worker.ts). For caller data, job.source holds only what the window needs (operandsOf).
   * Resolves with the window's checksum part (unsigned), its first row's sample and, for 'full'
   * output, its rows.
   */
  async runWindow(job: JobSpec, window: RowWindow): Promise<{ checksum: number; seconds: number; sample: number[]; output: MatrixArray | undefined }> {
    const kernel = job.kernel ?? 'wasm';
    const placed = placeJob(this.#arena, job, 1, window);
    try {
      const { results, seconds } = await this.pool.run([{ band: placed.bands[0]!, kernel }], { signal: job.signal, deadline: job.deadline });
      return { checksum: results[0]!, seconds, sample: placed.sample(), output: job.output === 'full' ? placed.output() : undefined };
    } finally {
      placed.free();
    }
  }

  /** Places `job` for `workers` bands; the caller frees it. */
  prepare(job: JobSpec, workers: number): PreparedJob {
    validateJob(job, this.maxWorkers, workers);
    const placed = placeJob(this.#arena, job, workers);
    const tasks = placed.bands.map((band) => ({ band, kernel: job.kernel ?? 'wasm' }));
    return { workers, run: async () => (await this.pool.run(tasks)).results, free: () => placed.free() };
  }
}
