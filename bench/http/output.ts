// The results folder: bench/results/<date>-<hostname>/ with results.json,
// report.md and the charts. A default full run also refreshes
// bench/results/latest/, the one copy that is committed and that the README
// links to (dated folders stay out of git: see .gitignore).

import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import type { Chart } from './charts.js';
import { markdownReport } from './report.js';
import type { BenchRun } from './results.js';

export const RESULTS_ROOT = join(ROOT, 'bench', 'results');
export const LATEST_DIR = join(RESULTS_ROOT, 'latest');

/** 2026-11-25-2215-myhost (local time, sortable). */
export function resultsDirName(date: Date, host: string): string {
  const p = (x: number): string => String(x).padStart(2, '0');
  const safeHost = host.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}-${safeHost}`;
}

/** Writes the run into `dir`; returns the files written. */
export function writeResults(dir: string, run: BenchRun, charts: readonly Chart[]): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(run, null, 2)}\n`],
    ['report.md', markdownReport(run, charts)],
    ...charts.map((c): [string, string] => [c.file, c.svg]),
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

/** Replaces bench/results/latest/ with a copy of `dir`. */
export function refreshLatest(dir: string): void {
  rmSync(LATEST_DIR, { recursive: true, force: true });
  cpSync(dir, LATEST_DIR, { recursive: true });
}
