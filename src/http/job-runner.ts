// How the HTTP layer reaches the engines: directly in the main thread, or
// through the main thread from an acceptor thread (acceptors.ts). Either way
// there is one set of kernel pools per process.

import type { Engines } from '../engines/index.js';
import { MODES, type JobResult, type JobSpec, type Mode } from '../engines/job.js';

export interface JobRunner {
  run(mode: Mode, job: JobSpec): Promise<JobResult>;
  /** The largest `workers` a job in this mode may ask for. */
  maxWorkers(mode: Mode): number;
}

export function enginesRunner(engines: Engines): JobRunner {
  return {
    run: (mode, job) => engines.get(mode).run(job),
    maxWorkers: (mode) => engines.get(mode).maxWorkers,
  };
}

/** Pool sizes by mode, as acceptor threads receive them. */
export function maxWorkersTable(runner: JobRunner): Record<Mode, number> {
  return Object.fromEntries(MODES.map((mode) => [mode, runner.maxWorkers(mode)])) as Record<Mode, number>;
}
