// The `auto` mode: picks a mode and a worker count per job from its size,
// dtype and kind, using the thresholds measured by bench:kernels
// (auto-thresholds.ts). Small jobs run on the calling thread and never pay a
// hand-off; large jobs use the thread pool, split over as many workers as the
// size pays for and as are free (one band when the pool is busy). The process pool is
// never picked: for the same work it only adds copies (see README benchmarks).
// The cluster is picked only for jobs at or above its own threshold (by op,
// thresholds.cluster) and only while worker hosts are live.

import type { Engine, EngineStats, JobResult, JobSpec } from './job.js';
import { thresholdsFor, type Thresholds } from './auto-thresholds.js';
import { operation } from '../ops/index.js';
import { chooseBands, geometryOf } from './job-layout.js';

/** The thread pool as auto sees it: an engine that can say how many workers are free now. */
export type PoolEngine = Engine & { freeWorkers(): number };

export interface AutoChoice {
  engine: Engine;
  /** Bands on the thread pool (1 on the calling thread; 0 for the cluster, which splits by its live threads). */
  workers: number;
}

/** The cluster as auto sees it: an engine that says whether worker hosts are live. */
export type ClusterChoice = Engine & { readonly live: boolean };

export class AutoEngine implements Engine {
  readonly mode = 'auto' as const;
  readonly #local: { wasm: Engine; ts: Engine };
  readonly #threads: PoolEngine;
  readonly #cluster: ClusterChoice | undefined;
  readonly thresholds: Thresholds;

  constructor(local: { wasm: Engine; ts: Engine }, threads: PoolEngine, thresholds: Thresholds, cluster?: ClusterChoice) {
    this.#local = local;
    this.#threads = threads;
    this.#cluster = cluster;
    this.thresholds = thresholds;
  }

  get maxWorkers(): number {
    return this.#threads.maxWorkers;
  }

  /**
   * Below the threshold: the calling thread. From it: the thread pool, with
   * as many workers as the job has threshold halves (2 at the threshold, where
   * 2 workers break even), at most the pool size.
   */
  choose(job: JobSpec): AutoChoice {
    const kernel = job.kernel ?? 'wasm';
    // elements for element-wise ops, multiply-adds for matmul, against the op's own table when it has one
    const elements = operation(job.op).work(geometryOf(job));
    const threshold = thresholdsFor(this.thresholds, job.op)[kernel][job.source.kind][job.dtype];
    const max = this.#threads.maxWorkers;
    if (job.workers !== undefined) {
      return job.workers === 1 ? { engine: this.#local[kernel], workers: 1 } : { engine: this.#threads, workers: job.workers };
    }
    const clusterFrom = this.thresholds.cluster?.[job.op];
    if (this.#cluster?.live && clusterFrom !== undefined && elements >= clusterFrom) return { engine: this.#cluster, workers: 0 };
    if (max < 2 || elements < threshold || job.rows < 2) return { engine: this.#local[kernel], workers: 1 };
    const workers = Math.min(max, Math.max(2, Math.floor((2 * elements) / Math.max(1, threshold))));
    return { engine: this.#threads, workers };
  }

  /**
   * Runs the job where choose() says, with the pool's adaptive split on top:
   * a split auto picked (not one the caller asked for) is cut down to the
   * workers free at dispatch, one band when the pool is busy, as the
   * threads mode does for jobs without `workers` (fewer hand-offs under load).
   */
  run(job: JobSpec): Promise<JobResult> {
    const { engine, workers } = this.choose(job);
    // the cluster splits a job over the live hosts' threads itself
    if (engine === this.#cluster) return engine.run({ ...job, workers: undefined });
    if (engine.maxWorkers === 1) return engine.run({ ...job, workers: undefined });
    // auto's count is the most the pool's own rule (chooseBands) may use
    const adaptive = job.workers === undefined ? chooseBands(job, workers, this.#threads.freeWorkers()) : workers;
    return engine.run({ ...job, workers: adaptive });
  }

  stats(): EngineStats {
    return this.#threads.stats();
  }

  async close(): Promise<void> {}
}
