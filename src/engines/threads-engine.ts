// The `threads` mode: a persistent pool of worker_threads that all instantiate
// the one compiled module over the one shared memory. A job's A, B and output
// live in a region of that memory; each worker generates and computes its band
// of rows in place. No matrix data is copied between threads.

import type { Arena } from '../memory/arena.js';
import { Pool } from '../pools/pool.js';
import { ThreadTransport, type ThreadTask } from '../pools/thread-transport.js';
import type { Engine, EngineStats, JobResult, JobSpec } from './job.js';
import { checkStillWanted, chooseBands, combineChecksums, placeJob } from './job-layout.js';
import type { PoolSettings } from './pool-settings.js';

export class ThreadsEngine implements Engine {
  readonly mode = 'threads' as const;
  readonly pool: Pool<ThreadTask, number>;
  readonly #arena: Arena;

  /** `name` is for messages: "thread" for the threads mode, "local thread" for the ts/wasm modes' large jobs. */
  constructor(module: WebAssembly.Module, arena: Arena, settings: PoolSettings, name = 'thread') {
    this.#arena = arena;
    this.pool = new Pool<ThreadTask, number>({
      name,
      size: settings.size,
      maxQueue: settings.maxQueue,
      maxTasksPerWorker: settings.maxTasksPerWorker,
      maxTasksJitter: settings.maxTasksJitter,
      gate: settings.gate,
      spawn: () => new ThreadTransport({ module, memory: arena.memory, spinMicros: settings.spinMicros }),
    });
  }

  get maxWorkers(): number {
    return this.pool.size;
  }

  /** Workers that would take a task at once (see Pool.freeWorkers). */
  freeWorkers(): number {
    return this.pool.freeWorkers();
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  async run(job: JobSpec): Promise<JobResult> {
    const workers = chooseBands(job, this.maxWorkers, this.pool.freeWorkers());
    checkStillWanted(job);
    const kernel = job.kernel ?? 'wasm';
    const placed = placeJob(this.#arena, job);
    try {
      const tasks = placed.bands(workers).map((band) => ({ band, kernel }));
      const { results, seconds } = await this.pool.run(tasks, { signal: job.signal, deadline: job.deadline });
      return {
        op: job.op,
        dtype: job.dtype,
        rows: job.rows,
        cols: job.cols,
        output: job.output === 'full' ? placed.output() : undefined,
        sample: placed.sample(),
        checksum: combineChecksums(results),
        kernelSeconds: seconds,
        mode: this.mode,
        workers,
        kernel,
      };
    } finally {
      // the pool settles a job only when none of its bands is still running
      placed.free();
    }
  }

  stats(): EngineStats {
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
