// The TS baseline measured where nothing else ran before it. V8 specialises a
// loop for the element types and call sites it has seen: the same TS loop ran
// at 1.11 and at 1.70 ns per element depending on which cells came first. So
// each TS cell (a `ts` row of the table, or the bare TS kernel of the
// roofline) runs in a fresh child process that times that one cell and exits;
// the parent's pools sit idle meanwhile. ts-cell.ts is the child.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../src/paths.js';
import type { CaseSpec } from './cases.js';
import type { MeasureOptions, Timing } from './measure.js';

/** How the report states it. */
export const TS_ISOLATION = 'each TS cell (ts rows, the roofline\'s ts column) timed in a fresh child process of its own';

/** One TS cell: a row of the table (mode ts), or a bare TS kernel of the roofline. */
export type TsCell = { kind: 'table'; spec: CaseSpec } | { kind: 'kernel'; kernel: 'add' | 'lab'; n: number };

export interface TsCellRequest {
  cell: TsCell;
  measure: MeasureOptions;
}

export const TS_CELL_ENTRY = join(ROOT, 'dist', 'bench', 'ts-cell.js');

/** The request as the child's one argument, and back. */
export const encodeRequest = (r: TsCellRequest): string => JSON.stringify(r);
export function decodeRequest(arg: string | undefined): TsCellRequest {
  const r = JSON.parse(arg ?? 'null') as Partial<TsCellRequest> | null;
  if (!r || typeof r.cell !== 'object' || typeof r.measure !== 'object') throw new TypeError(`ts-cell: expected {"cell": ..., "measure": ...}, got ${arg}`);
  return r as TsCellRequest;
}

/** Spawns the child for one cell and resolves with its timing; rejects with its stderr if it fails. */
export function timeTsCell(request: TsCellRequest): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_CELL_ENTRY, encodeRequest(request)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`ts-cell ${JSON.stringify(request.cell)} ended with ${signal ?? `exit code ${code}`}: ${stderr.trim().split('\n').slice(-5).join('\n')}`));
      try {
        resolve(JSON.parse(stdout) as Timing);
      } catch {
        reject(new Error(`ts-cell printed no timing: ${stdout.slice(0, 200)}`));
      }
    });
  });
}
