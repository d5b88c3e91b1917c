// What the threads and processes engines share around their pool, which stays
// private to them: callers (CLI, benchmarks, tests) reach a pool only through
// these methods.

import { Pool, type PoolOptions, type RestartReason } from '../pools/pool.js';
import type { EngineStats } from './job.js';

export abstract class PooledEngine<Task, Result> {
  protected readonly pool: Pool<Task, Result>;

  constructor(options: PoolOptions<Task, Result>) {
    this.pool = new Pool<Task, Result>(options);
  }

  /** The largest `workers` a job may ask for. */
  get maxWorkers(): number {
    return this.pool.size;
  }

  /** Workers that would take a task at once (see Pool.freeWorkers). */
  freeWorkers(): number {
    return this.pool.freeWorkers();
  }

  /** Thread ids or process ids of the live workers. */
  workerIds(): number[] {
    return this.pool.workerIds();
  }

  /** Kills one worker (fault injection: --chaos, tests); resolves with its id, undefined when none is alive. */
  killWorker(id?: number): Promise<number | undefined> {
    return this.pool.killWorker(id);
  }

  /** A worker is being replaced: crashed, or stopped at a job's deadline ('timeout'). */
  onRestart(listener: (error: Error, reason: RestartReason) => void): void {
    this.pool.on('restart', listener);
  }

  /** The pool cannot keep workers alive. */
  onFatal(listener: (error: Error) => void): void {
    this.pool.on('fatal', listener);
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  stats(): EngineStats {
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
