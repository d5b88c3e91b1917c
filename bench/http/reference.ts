// The expected answers, from the pure-TypeScript reference (the same code as
// the `ts` mode, run here in the benchmark's own process, never by the server
// under test). Computed once per (dtype, n, seed) before any load is sent.

import type { JobResult, JobSpec } from '../../src/engines/job.js';
import { LocalEngine } from '../../src/engines/local-engine.js';
import { ARRAY_OF, ELEMENT_BYTES, type Dtype, type MatrixArray } from '../../src/kernels/dtype.js';
import { TsKernels } from '../../src/kernels/ts-kernels.js';
import { Arena } from '../../src/memory/arena.js';

export class Reference {
  readonly #arena = new Arena({ shared: false });
  readonly #kernels = new TsKernels(this.#arena.memory);
  readonly #engine = new LocalEngine(this.#kernels, this.#arena);
  readonly #checksums = new Map<string, string>();

  /** The checksum of A op B for the job drawn from `seed` (an output of rows x cols of dtype; matmul: square, k = cols). */
  randomChecksum(dtype: Dtype, rows: number, cols: number, seed: number, op: 'add' | 'matmul' = 'add'): string {
    const key = `${op}:${dtype}:${rows}:${cols}:${seed}`;
    let sum = this.#checksums.get(key);
    if (sum === undefined) {
      sum = this.#engine.runSync({ op, dtype, rows, cols, source: { kind: 'random', seed }, output: 'summary' }).checksum;
      this.#checksums.set(key, sum);
    }
    return sum;
  }

  /** Any job, run by the pure-TS kernels in this process. */
  run(spec: JobSpec): JobResult {
    return this.#engine.runSync(spec);
  }

  /** Matrix A (which = 0) or B (which = 1) of the generator for `seed`, row-major. */
  matrix(dtype: Dtype, rows: number, cols: number, seed: number, which: 0 | 1): MatrixArray {
    const count = rows * cols;
    const ptr = this.#arena.alloc(count * ELEMENT_BYTES[dtype]);
    try {
      this.#kernels.fill(dtype, ptr, cols, 0, rows, seed, which);
      return new ARRAY_OF[dtype](this.#arena.memory.buffer, ptr, count).slice();
    } finally {
      this.#arena.free(ptr);
    }
  }

  /** A + B of caller data, with its checksum: what a POST must answer. */
  add(dtype: Dtype, rows: number, cols: number, a: MatrixArray, b: MatrixArray): { output: MatrixArray; checksum: string } {
    const r = this.run({ op: 'add', dtype, rows, cols, source: { kind: 'data', a, b }, output: 'full' });
    return { output: r.output!, checksum: r.checksum };
  }
}
