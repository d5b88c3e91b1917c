// The `processes` mode: a persistent pool of forked child processes, each with
// its own WASM instance and memory. Random jobs send only the seed and get back
// only checksums (and the sample); data jobs send each child its rows of A and
// B and, when the caller wants the full result, get its rows back.

import { ARRAY_OF } from '../kernels/dtype.js';
import { Pool } from '../pools/pool.js';
import type { ProcessResult, ProcessTask } from '../pools/process-protocol.js';
import { ProcessTransport } from '../pools/process-transport.js';
import { SAMPLE_LENGTH, type Engine, type EngineStats, type JobResult, type JobSpec } from './job.js';
import { checkStillWanted, chooseBands, combineChecksums, splitRows } from './job-layout.js';
import type { PoolSettings } from './pool-settings.js';

export class ProcessesEngine implements Engine {
  readonly mode = 'processes' as const;
  readonly pool: Pool<ProcessTask, ProcessResult>;

  constructor(settings: PoolSettings) {
    this.pool = new Pool<ProcessTask, ProcessResult>({
      name: 'process',
      size: settings.size,
      maxQueue: settings.maxQueue,
      maxTasksPerWorker: settings.maxTasksPerWorker,
      maxTasksJitter: settings.maxTasksJitter,
      gate: settings.gate,
      spawn: () => new ProcessTransport(),
    });
  }

  get maxWorkers(): number {
    return this.pool.size;
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  async run(job: JobSpec): Promise<JobResult> {
    const workers = chooseBands(job, this.maxWorkers, this.pool.freeWorkers());
    checkStillWanted(job);
    const kernel = job.kernel ?? 'wasm';
    const { cols, dtype, source } = job;
    const wantOutput = job.output === 'full';
    const tasks: ProcessTask[] = splitRows(job.rows, workers).map(({ firstRow, rows }) => {
      const task: ProcessTask = { op: job.op, dtype, kernel, cols, firstRow, rows, wantOutput, wantSample: firstRow === 0 ? SAMPLE_LENGTH : 0 };
      if (source.kind === 'random') task.seed = source.seed;
      else {
        // slice, not subarray: a view would serialize its whole underlying buffer
        task.a = source.a.slice(firstRow * cols, (firstRow + rows) * cols);
        task.b = source.b.slice(firstRow * cols, (firstRow + rows) * cols);
      }
      return task;
    });
    const { results, seconds } = await this.pool.run(tasks, { signal: job.signal, deadline: job.deadline });
    let output;
    if (wantOutput) {
      output = new ARRAY_OF[dtype](job.rows * cols);
      results.forEach((r, i) => output!.set(r.out!, tasks[i]!.firstRow * cols));
    }
    return {
      op: job.op,
      dtype,
      rows: job.rows,
      cols,
      output,
      sample: (results[0]!.sample ?? []).slice(0, Math.min(SAMPLE_LENGTH, cols)),
      checksum: combineChecksums(results.map((r) => r.checksum)),
      kernelSeconds: seconds,
      mode: this.mode,
      workers,
      kernel,
    };
  }

  stats(): EngineStats {
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
