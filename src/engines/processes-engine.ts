// The `processes` mode: a persistent pool of forked child processes, each with
// its own WASM instance and memory. Random jobs send only the seed and get back
// only checksums (and the sample); data jobs send each child its rows of A and
// what its band needs of B (the same rows, or for matmul all of B, once per
// job and child) and, when the caller wants the full result, get its rows back.

import { ARRAY_OF, type MatrixArray } from '../kernels/dtype.js';
import type { ProcessResult, ProcessTask } from '../pools/process-protocol.js';
import { ProcessTransport } from '../pools/process-transport.js';
import { operation } from '../ops/index.js';
import { SAMPLE_LENGTH, type Engine, type JobResult, type JobSpec } from './job.js';
import { checkStillWanted, chooseBands, geometryOf, jobResult, splitRows } from './job-layout.js';
import type { PoolSettings } from './pool-settings.js';
import { PooledEngine } from './pooled-engine.js';

export class ProcessesEngine extends PooledEngine<ProcessTask, ProcessResult> implements Engine {
  readonly mode = 'processes' as const;

  constructor(settings: PoolSettings) {
    super({
      name: 'process',
      size: settings.size,
      maxQueue: settings.maxQueue,
      maxTasksPerWorker: settings.maxTasksPerWorker,
      maxTasksJitter: settings.maxTasksJitter,
      gate: settings.gate,
      spawn: () => new ProcessTransport(),
    });
  }

  async run(job: JobSpec): Promise<JobResult> {
    const workers = chooseBands(job, this.maxWorkers, this.pool.freeWorkers());
    checkStillWanted(job);
    const kernel = job.kernel ?? 'wasm';
    const { dtype, source } = job;
    const { cols, inner } = geometryOf(job);
    const needsAllOfB = operation(job.op).bandNeedsOfB === 'all';
    const wantOutput = job.output === 'full';
    // slice, not subarray: a view would serialize its whole underlying buffer. B whole is sliced once per job
    const wholeB = source.kind === 'data' && needsAllOfB ? unshared(source.b) : undefined;
    const tasks: ProcessTask[] = splitRows(job.rows, workers).map(({ firstRow, rows }) => {
      const task: ProcessTask = { op: job.op, dtype, kernel, cols, inner, firstRow, rows, wantOutput, wantSample: firstRow === 0 ? SAMPLE_LENGTH : 0 };
      if (source.kind === 'random') task.seed = source.seed;
      else {
        task.a = source.a.slice(firstRow * inner, (firstRow + rows) * inner);
        task.b = wholeB ?? source.b.slice(firstRow * cols, (firstRow + rows) * cols);
      }
      return task;
    });
    const { results, seconds } = await this.pool.run(tasks, { signal: job.signal, deadline: job.deadline });
    let output;
    if (wantOutput) {
      output = new ARRAY_OF[dtype](job.rows * cols);
      results.forEach((r, i) => output!.set(r.out!, tasks[i]!.firstRow * cols));
    }
    return jobResult(job, { mode: this.mode, kernel, workers, checksums: results.map((r) => r.checksum), seconds, sample: results[0]!.sample ?? [], output });
  }

}

/** The array itself when it owns its whole buffer, else a copy that does (what IPC serializes is the buffer). */
function unshared(m: MatrixArray): MatrixArray {
  return m.byteOffset === 0 && m.byteLength === m.buffer.byteLength ? m : m.slice();
}
