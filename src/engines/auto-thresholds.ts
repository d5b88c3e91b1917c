// The measured switch points of auto mode, kept in one documented file:
// config/auto-thresholds.json (written by `npm run bench:kernels --
// --write-thresholds`), overridable with WASMATRIX_AUTO_THRESHOLDS=path.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { DTYPES, JOB_KINDS, KERNELS, type Dtype, type JobKind, type KernelKind } from '../vocabulary.js';

export type { JobKind };
export type Thresholds = Record<KernelKind, Record<JobKind, Record<Dtype, number>>>;

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
  for (const kernel of KERNELS)
    for (const kind of JOB_KINDS)
      for (const dtype of DTYPES) {
        const v = file.thresholds?.[kernel]?.[kind]?.[dtype];
        if (typeof v !== 'number' || !(v >= 0)) throw new Error(`${path}: thresholds.${kernel}.${kind}.${dtype} must be a number >= 0`);
      }
  return file.thresholds;
}
