// How the HTTP layer reaches the engines: directly in the main thread, or
// through the main thread from an acceptor thread (acceptors.ts). Either way
// there is one set of kernel pools per process.

import type { Engines } from '../engines/index.js';
import { MODES, type JobResult, type JobSpec, type Mode } from '../engines/job.js';
import type { LocalEngine } from '../engines/local-engine.js';

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

/**
 * With -w N >= 2 every HTTP thread (the main thread and each acceptor) runs the
 * small one-band jobs of the threads and wasm modes itself, on its own WASM
 * instance (`local`), and hands everything else to `next`. There are then as
 * many HTTP threads as the cores are meant to serve, so a kernel pool's
 * hand-off would buy no parallelism for a one-band job, only its two wake-ups
 * (a worker, then the HTTP thread: 25 to 50 us each on these VMs, more than the
 * HTTP layer's whole cost per request). "Small" is the local engine's inline
 * limit (512 x 512 elements: at most a quarter of a millisecond of wasm), so a
 * thread is never held long; a job that asks for more than one worker, or that
 * is larger, still goes to the pool, where it can be split and stopped at its
 * deadline. `onInline` counts the jobs run this way (a metric).
 */
export function inlineRunner(local: LocalEngine, next: JobRunner, onInline: () => void): JobRunner {
  return {
    run(mode, job) {
      if ((mode === 'threads' || mode === 'wasm') && (job.workers ?? 1) === 1 && (job.kernel ?? 'wasm') === 'wasm' && local.isSmall(job)) {
        let result: JobResult;
        try {
          result = local.runSync(job);
        } catch (e) {
          return Promise.reject(e);
        }
        onInline();
        if (mode === 'threads') result.mode = 'threads';
        return Promise.resolve(result);
      }
      return next.run(mode, job);
    },
    maxWorkers: (mode) => next.maxWorkers(mode),
  };
}

/** Pool sizes by mode, as acceptor threads receive them. */
export function maxWorkersTable(runner: JobRunner): Record<Mode, number> {
  return Object.fromEntries(MODES.map((mode) => [mode, runner.maxWorkers(mode)])) as Record<Mode, number>;
}
