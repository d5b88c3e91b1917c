// The measured switch points of auto mode, kept in one documented file:
// config/auto-thresholds.json (written by `npm run bench:kernels --
// --write-thresholds`), overridable with WASMATRIX_AUTO_THRESHOLDS=path.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { DTYPES, JOB_KINDS, KERNELS, isOp, type Dtype, type JobKind, type KernelKind, type Op } from '../vocabulary.js';

export type { JobKind };
/** Work (operation.work(): elements, or multiply-adds for matmul) from which auto uses the thread pool. */
export type ThresholdTable = Record<KernelKind, Record<JobKind, Record<Dtype, number>>>;
/** The table of the element-wise ops, and tables of their own for ops measured apart (matmul). */
export type Thresholds = ThresholdTable & {
  byOp?: Partial<Record<Op, ThresholdTable>>;
  /** Work from which auto sends a job to the cluster (when worker hosts are live), by op; an op left out never goes there. */
  cluster?: Partial<Record<Op, number>>;
};

/** The table auto uses for `op`. */
export function thresholdsFor(t: Thresholds, op: Op): ThresholdTable {
  return t.byOp?.[op] ?? t;
}

export interface ThresholdsFile {
  about: string;
  measured: { by: string; cpu: string; node: string; date: string };
  thresholds: Thresholds;
}

export const DEFAULT_THRESHOLDS_PATH = join(ROOT, 'config', 'auto-thresholds.json');

export function thresholdsPath(): string {
  return process.env.WASMATRIX_AUTO_THRESHOLDS || DEFAULT_THRESHOLDS_PATH;
}

export function loadThresholds(path = thresholdsPath()): Thresholds {
  const file = JSON.parse(readFileSync(path, 'utf8')) as ThresholdsFile;
  const check = (table: ThresholdTable | undefined, where: string): void => {
    for (const kernel of KERNELS)
      for (const kind of JOB_KINDS)
        for (const dtype of DTYPES) {
          const v = table?.[kernel]?.[kind]?.[dtype];
          if (typeof v !== 'number' || !(v >= 0)) throw new Error(`${path}: ${where}.${kernel}.${kind}.${dtype} must be a number >= 0`);
        }
  };
  check(file.thresholds, 'thresholds');
  for (const [op, v] of Object.entries(file.thresholds.cluster ?? {})) {
    if (!isOp(op) || typeof v !== 'number' || !(v >= 0)) throw new Error(`${path}: thresholds.cluster.${op} must be an op's work (a number >= 0)`);
  }
  for (const [op, table] of Object.entries(file.thresholds.byOp ?? {})) {
    if (!isOp(op)) throw new Error(`${path}: thresholds.byOp.${op} is not an op`);
    check(table, `thresholds.byOp.${op}`);
  }
  return file.thresholds;
}
