import type { Gate } from '../pools/gate.js';

/** How a kernel pool (threads or processes) is sized and run. */
export interface PoolSettings {
  size: number;
  /** Jobs allowed to wait for a worker before QUEUE_FULL. */
  maxQueue: number;
  /** Recycle a worker after this many tasks (0: never), plus up to maxTasksJitter. */
  maxTasksPerWorker: number;
  maxTasksJitter: number;
  /** Thread workers only: microseconds to spin for the next task before sleeping. */
  spinMicros: number;
  /** Test-only hold control (WASMATRIX_TEST_HOOKS=1); undefined in a normal start. */
  gate: Gate | undefined;
}
