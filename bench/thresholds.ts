// `bench:kernels --write-thresholds`: finds, for each kernel, job kind and
// dtype, the job size from which the thread pool with 2 workers beats the same
// kernel on the calling thread, and writes config/auto-thresholds.json (format:
// src/engines/auto-thresholds.ts). Sizes are square n x n on a grid of
// factor sqrt(2). The machine is shared, so at each size the two modes are
// timed in turns (ABABAB) and the median of the per-round ratios counts; the
// threshold is the first n from which threads win at every size tried, up to
// three wins in a row (one noisy win does not move the switch point).

import { cpus } from 'node:os';
import { existsSync, writeFileSync } from 'node:fs';
import { DEFAULT_THRESHOLDS_PATH, loadThresholds, type JobKind, type ThresholdTable, type Thresholds, type ThresholdsFile } from '../src/engines/auto-thresholds.js';
import type { Engines } from '../src/engines/index.js';
import type { JobSpec, KernelKind } from '../src/engines/job.js';
import { DTYPES, JOB_KINDS, KERNELS, type Dtype } from '../src/vocabulary.js';
import { callerData, prepareCase, type LocalKernels } from './cases.js';
import { measure, summarize, type MeasureOptions } from './measure.js';

/** Square sizes tried, factor ~sqrt(2) apart. */
export const THRESHOLD_GRID = [16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024, 1448, 2048];
/** Written when threads never won on the grid: a job of 2^32 elements cannot exist (4 GiB memory). */
export const NEVER = 2 ** 32;

export interface Crossing {
  /** 'elementwise': the main table (measured with add); 'matmul': thresholds.byOp.matmul. */
  table: 'elementwise' | 'matmul';
  kernel: KernelKind;
  kind: JobKind;
  dtype: Dtype;
  /** Work (elements rows x cols, or multiply-adds n^3 for matmul) from which auto uses the pool; NEVER if the pool never won. */
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
  return { table: 'elementwise', kernel, kind, dtype, threshold: firstWin !== undefined ? firstWin * firstWin : NEVER, tried };
}

/** Square matmul sizes tried (n^3 multiply-adds). */
export const MATMUL_THRESHOLD_GRID = [8, 11, 16, 23, 32, 45, 64, 91, 128, 181, 256];

/** The same search for matmul: the job through the engines' API, the calling thread (runSync) against the pool with 2 workers, in turns. */
async function findMatmulCrossing(engines: Engines, kernel: KernelKind, kind: JobKind, dtype: Dtype, options: MeasureOptions): Promise<Crossing> {
  const tried: { n: number; speedup: number }[] = [];
  let firstWin: number | undefined;
  for (const n of MATMUL_THRESHOLD_GRID) {
    const source: JobSpec['source'] = kind === 'random' ? { kind: 'random', seed: 20240501 } : { kind: 'data', a: callerData(dtype, n * n), b: callerData(dtype, n * n) };
    const job: JobSpec = { op: 'matmul', dtype, rows: n, cols: n, inner: n, source, output: 'summary', kernel };
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const one = (await measure(() => engines[kernel].runSync(job), options)).median;
      const two = (await measure(() => engines.threads.run({ ...job, workers: 2 }), options)).median;
      ratios.push(one / two);
    }
    const speedup = summarize(ratios).median;
    tried.push({ n, speedup });
    if (speedup > 1) {
      firstWin ??= n;
      if (tried.length - tried.findIndex((t) => t.n === firstWin) >= WINS) break;
    } else firstWin = undefined;
  }
  return { table: 'matmul', kernel, kind, dtype, threshold: firstWin !== undefined ? firstWin ** 3 : NEVER, tried };
}

/** Measures the element-wise table and/or matmul's. */
export async function measureThresholds(engines: Engines, local: LocalKernels, options: MeasureOptions, log: (line: string) => void, tables: Crossing['table'][] = ['elementwise', 'matmul']): Promise<Crossing[]> {
  const crossings: Crossing[] = [];
  for (const table of tables)
    for (const kernel of KERNELS)
      for (const kind of JOB_KINDS)
        for (const dtype of DTYPES) {
          const c = table === 'matmul' ? await findMatmulCrossing(engines, kernel, kind, dtype, options) : await findCrossing(engines, local, kernel, kind, dtype, options);
          log(`  ${table} ${kernel} ${kind} ${dtype}: ${c.threshold === NEVER ? 'never' : `${c.threshold} ${table === 'matmul' ? 'multiply-adds' : 'elements'}`}  (${c.tried.map((t) => `${t.n}:${t.speedup.toFixed(2)}x`).join(' ')})`);
          crossings.push(c);
        }
  return crossings;
}

/** Writes the measured tables; a table not measured this time is kept from the file at `path`. */
export function writeThresholds(crossings: Crossing[], path = DEFAULT_THRESHOLDS_PATH): ThresholdsFile {
  const previous = existsSync(path) ? loadThresholds(path) : undefined;
  const tableOf = (which: Crossing['table']): ThresholdTable | undefined => {
    const measured = crossings.filter((c) => c.table === which);
    if (measured.length === 0) return which === 'matmul' ? previous?.byOp?.matmul : previous && { wasm: previous.wasm, ts: previous.ts };
    const table = {} as ThresholdTable;
    for (const c of measured) {
      const byKind = (table[c.kernel] ??= {} as ThresholdTable[KernelKind]);
      (byKind[c.kind] ??= {} as Record<Dtype, number>)[c.dtype] = c.threshold;
    }
    return table;
  };
  const elementwise = tableOf('elementwise');
  if (!elementwise) throw new Error('writeThresholds: the element-wise table was neither measured nor in the file');
  const matmul = tableOf('matmul');
  const thresholds: Thresholds = matmul ? { ...elementwise, byOp: { matmul } } : { ...elementwise };
  // the cluster's switch points are not measured here: kept from the file (and said so below)
  if (previous?.cluster) thresholds.cluster = previous.cluster;
  const clusterNote = thresholds.cluster ? ' thresholds.cluster (the work from which auto sends a job to the cluster mode while worker hosts are live) is kept from the previous file: bench:kernels does not measure it (docs/cluster.md).' : '';
  const file: ThresholdsFile = {
    about:
      'Where auto mode switches from the calling thread to the thread pool: for each kernel, job kind and dtype, the work from which threads with 2 workers beat the same kernel on one thread (4294967296: never on this machine): elements (rows x cols) for the element-wise ops; thresholds.byOp.matmul in multiply-adds (m k n). Written by `npm run bench:kernels -- --write-thresholds`; override with WASMATRIX_AUTO_THRESHOLDS=path/to.json.' + clusterNote,
    measured: { by: 'npm run bench:kernels -- --write-thresholds', cpu: cpus()[0]?.model ?? 'unknown', node: process.version, date: new Date().toISOString() },
    thresholds,
  };
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`);
  return file;
}
