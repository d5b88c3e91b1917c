// "Kernels without HTTP": bench:kernels run as a child process with --json,
// its rows folded into the report. Its JSON array is the contract; its other
// findings (the roofline against C, the cost of a process or thread spawned
// per request) it prints as text on stderr, which is kept verbatim.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';

export const KERNELS_ENTRY = join(ROOT, 'dist', 'bench', 'kernels.js');

/** One row of `bench:kernels --json`. */
export interface KernelRow {
  op: string;
  mode: string;
  kernel: string;
  dtype: string;
  n: number;
  workers: number;
  ns_per_element: number;
  gb_per_s: number;
  ratio_vs_ts: number | null;
}

export interface Crossover {
  op: string;
  dtype: string;
  /** threads or processes (wasm kernel). */
  mode: string;
  /** The smallest n from which the mode beats single-thread wasm at every larger n measured; null if it never does. */
  from_n: number | null;
  /** mode speed / wasm speed at each n. */
  ratios: [number, number][];
}

export interface SpawnCostLine {
  what: string;
  median_ms: number;
  min_ms: number | null;
  max_ms: number | null;
}

export interface KernelsSection {
  command: string;
  status: 'ok' | 'failed' | 'skipped';
  problem?: string;
  seconds: number;
  rows: KernelRow[];
  crossovers: Crossover[];
  spawn_costs: SpawnCostLine[];
  /** Its human-readable output (tables, roofline, spawn costs). */
  text: string;
}

/** The element-wise rows of its JSON array (matmul rows, {op: 'matmul', ..., gflops}, are left to its text). */
export function parseKernelRows(stdout: string): KernelRow[] {
  const start = stdout.indexOf('[');
  if (start < 0) throw new Error('bench:kernels printed no JSON array');
  const rows = JSON.parse(stdout.slice(start)) as unknown;
  if (!Array.isArray(rows)) throw new Error('bench:kernels --json is not an array');
  const elementWise = (rows as Record<string, unknown>[]).filter((r) => !(r.op === 'matmul' && typeof r.gflops === 'number'));
  for (const r of elementWise) {
    if (typeof r.mode !== 'string' || typeof r.n !== 'number' || typeof r.ns_per_element !== 'number') {
      throw new Error(`bench:kernels row without mode, n or ns_per_element: ${JSON.stringify(r).slice(0, 120)}`);
    }
  }
  return elementWise as unknown as KernelRow[];
}

/** Where threads and processes (wasm kernels) start to beat single-thread wasm, per op and dtype. */
export function crossovers(rows: readonly KernelRow[]): Crossover[] {
  const out: Crossover[] = [];
  const keys = new Set(rows.map((r) => `${r.op}|${r.dtype}`));
  for (const key of keys) {
    const [op, dtype] = key.split('|') as [string, string];
    const wasm = new Map(rows.filter((r) => r.op === op && r.dtype === dtype && r.mode === 'wasm').map((r) => [r.n, r.ns_per_element]));
    for (const mode of ['threads', 'processes']) {
      const ratios = rows
        .filter((r) => r.op === op && r.dtype === dtype && r.mode === mode && r.kernel === 'wasm' && wasm.has(r.n))
        .sort((a, b) => a.n - b.n)
        .map((r): [number, number] => [r.n, wasm.get(r.n)! / r.ns_per_element]);
      if (ratios.length === 0) continue;
      let fromN: number | null = null;
      for (let i = ratios.length - 1; i >= 0 && ratios[i]![1] > 1; i--) fromN = ratios[i]![0];
      out.push({ op, dtype, mode, from_n: fromN, ratios });
    }
  }
  return out;
}

/** "fresh child process   45.3 ms (40.1-50.2)" lines of its spawn-cost section. */
export function parseSpawnCosts(text: string): SpawnCostLine[] {
  const costs: SpawnCostLine[] = [];
  const re = /^\s*(fresh [a-z ]+?|persistent [a-z ]+?[^:\n]*?):?\s+([\d.]+) ms(?: \(([\d.]+)-([\d.]+)\))?\s*$/gm;
  for (const m of text.matchAll(re)) {
    costs.push({ what: m[1]!.trim(), median_ms: Number(m[2]), min_ms: m[3] ? Number(m[3]) : null, max_ms: m[4] ? Number(m[4]) : null });
  }
  return costs;
}

/**
 * Runs `node dist/bench/kernels.js --json ...args`. Started detached (its own
 * process group, with its pools), so an abort stops all of it. Never throws:
 * a failure is reported in the section.
 */
export function runKernelBench(args: string[], signal: AbortSignal, onLine: (line: string) => void): Promise<KernelsSection> {
  const argv = [KERNELS_ENTRY, '--json', ...args];
  const command = `node dist/bench/kernels.js ${['--json', ...args].join(' ')}`;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    const abort = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    signal.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => finish(e.message));
    child.on('exit', (code, sig) => finish(code === 0 ? undefined : `bench:kernels ended with ${sig ? `signal ${sig}` : `exit code ${code}`}`));
    let done = false;
    function finish(problem: string | undefined): void {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', abort);
      const seconds = (Date.now() - t0) / 1000;
      const section: KernelsSection = { command, status: 'ok', seconds, rows: [], crossovers: [], spawn_costs: [], text: humanText(stderr) };
      try {
        if (problem) throw new Error(`${problem}\n${stderr.split('\n').slice(-10).join('\n')}`);
        section.rows = parseKernelRows(stdout);
        section.crossovers = crossovers(section.rows);
        section.spawn_costs = parseSpawnCosts(stderr);
      } catch (e) {
        section.status = 'failed';
        section.problem = (e as Error).message;
      }
      resolve(section);
    }
  });
}

/** Its stderr without the per-cell progress lines (those are the rows again). */
function humanText(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !/^\s{2}\S+ \S+\/\S+ \S+ n=\d+: /.test(l))
    .join('\n')
    .trim();
}
