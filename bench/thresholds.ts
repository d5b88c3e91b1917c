// `bench:kernels --write-thresholds`: finds, for each kernel, job kind and
// dtype, the job size from which the thread pool with 2 workers beats the same
// kernel on the calling thread, and writes config/auto-thresholds.json (format:
// src/engines/auto-thresholds.ts). Sizes are square n x n on a grid of
// factor sqrt(2). The machine is shared, so at each size the two modes are
// timed in turns (ABABAB) and the median of the per-round ratios counts; the
// threshold is the first n from which threads win at every size tried, up to
// three wins in a row (one noisy win does not move the switch point).

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { DEFAULT_THRESHOLDS_PATH, type JobKind, type Thresholds, type ThresholdsFile } from '../src/engines/auto-thresholds.js';
import type { Engines } from '../src/engines/index.js';
import type { KernelKind } from '../src/engines/job.js';
import { DTYPES, type Dtype } from '../src/kernels/dtype.js';
import { callerData, prepareCase, type LocalKernels } from './cases.js';
import { measure, summarize, type MeasureOptions } from './measure.js';

/** Square sizes tried, factor ~sqrt(2) apart. */
export const THRESHOLD_GRID = [16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048];
/** Written when threads never won on the grid: a job of 2^32 elements cannot exist (4 GiB memory). */
export const NEVER = 2 ** 32;

export interface Crossing {
  kernel: KernelKind;
  kind: JobKind;
  dtype: Dtype;
  /** Elements (rows x cols) from which auto uses the pool; NEVER if the pool never won. */
  threshold: number;
  /** Local / threads time at each size tried, for the log. */
  tried: { n: number; speedup: number }[];
}

async function speedupAt(engines: Engines, local: LocalKernels, kernel: KernelKind, kind: JobKind, dtype: Dtype, n: number, options: MeasureOptions): Promise<number> {
  const op = kind === 'random' ? 'random+add' : 'add';
  const data = kind === 'data' ? { a: callerData(dtype, n * n), b: callerData(dtype, n * n) } : { a: new Int32Array(0), b: new Int32Array(0) };
  const time = async (mode: 'ts' | 'wasm' | 'threads'): Promise<number> => {
    const prepared = prepareCase(engines, local, { op, mode, kernel, dtype, n, workers: 2 }, data);
    try {
      return (await measure(prepared.call, options)).median;
    } finally {
      prepared.dispose();
    }
  };
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) ratios.push((await time(kernel)) / (await time('threads')));
  return summarize(ratios).median;
}

/** Rounds of (single, threads) timings per size. */
const ROUNDS = 3;
/** Consecutive wins of the pool that end the search at one kernel, kind and dtype. */
const WINS = 3;

export async function findCrossing(engines: Engines, local: LocalKernels, kernel: KernelKind, kind: JobKind, dtype: Dtype, options: MeasureOptions): Promise<Crossing> {
  const tried: { n: number; speedup: number }[] = [];
  let firstWin: number | undefined;
  for (const n of THRESHOLD_GRID) {
    const speedup = await speedupAt(engines, local, kernel, kind, dtype, n, options);
    tried.push({ n, speedup });
    if (speedup > 1) {
      firstWin ??= n;
      if (tried.length - tried.findIndex((t) => t.n === firstWin) >= WINS) break;
    } else firstWin = undefined;
  }
  return { kernel, kind, dtype, threshold: firstWin !== undefined ? firstWin * firstWin : NEVER, tried };
}

export async function measureThresholds(engines: Engines, local: LocalKernels, options: MeasureOptions, log: (line: string) => void): Promise<Crossing[]> {
  const crossings: Crossing[] = [];
  for (const kernel of ['wasm', 'ts'] as const)
    for (const kind of ['random', 'data'] as const)
      for (const dtype of DTYPES) {
        const c = await findCrossing(engines, local, kernel, kind, dtype, options);
        log(`  ${kernel} ${kind} ${dtype}: ${c.threshold === NEVER ? 'never' : `${c.threshold} elements`}  (${c.tried.map((t) => `${t.n}:${t.speedup.toFixed(2)}x`).join(' ')})`);
        crossings.push(c);
      }
  return crossings;
}

export function writeThresholds(crossings: Crossing[], path = DEFAULT_THRESHOLDS_PATH): ThresholdsFile {
  const thresholds = {} as Thresholds;
  for (const c of crossings) {
    const byKind = (thresholds[c.kernel] ??= {} as Thresholds[KernelKind]);
    (byKind[c.kind] ??= {} as Record<Dtype, number>)[c.dtype] = c.threshold;
  }
  const file: ThresholdsFile = {
    about:
      'Where auto mode switches from the calling thread to the thread pool: for each kernel, job kind and dtype, the number of elements (rows x cols) from which threads with 2 workers beat the same kernel on one thread (4294967296: never on this machine). Written by `npm run bench:kernels -- --write-thresholds`; override with WASMATRIX_AUTO_THRESHOLDS=path/to.json.',
    measured: { by: 'npm run bench:kernels -- --write-thresholds', cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() },
    thresholds,
  };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}
