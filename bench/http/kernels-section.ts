// "Kernels without HTTP": bench:kernels run as a child process with --json,
// its results folded into the report. Its JSON object (KernelBenchJson: rows,
// targets, the roofline against C, the cost of a process or thread spawned per
// request) is the contract; its text on stderr is kept verbatim as well.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import type { KernelBenchJson, KernelRow, SpawnCostLine } from '../report.js';

export const KERNELS_ENTRY = join(ROOT, 'dist', 'bench', 'kernels.js');

export type { KernelRow };

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

export interface KernelsSection {
  command: string;
  status: 'ok' | 'failed' | 'skipped';
  problem?: string;
  seconds: number;
  rows: KernelRow[];
  crossovers: Crossover[];
  spawn_costs: SpawnCostLine[];
  /** Machine, Node, rounds and date of the kernel run (absent in results written before it was recorded). */
  context?: KernelBenchJson['context'];
  /** matmul rows, GFLOPS per mode, kernel, dtype, n and workers, NumPy's among them when found (absent in older results). */
  matmul?: KernelBenchJson['matmul'];
  /** The data add bare, fused with its checksum and in two passes (absent in older results). */
  passes?: KernelBenchJson['passes'];
  /** The bare add kernel against C (absent in older results; older rows have n, c_ns, wasm_ns, ts_ns). */
  roofline?: KernelBenchJson['roofline'];
  roofline_skipped?: string | null;
  /** The C builds and C with OpenMP (absent in results older than issue 14). */
  c?: KernelBenchJson['c'];
  /** Its human-readable output (tables, roofline, spawn costs). */
  text: string;
}

/** The JSON object `bench:kernels --json` prints on stdout, checked for the fields the report reads. */
export function parseKernelJson(stdout: string): KernelBenchJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('bench:kernels printed no JSON object on stdout');
  const result = parsed as Partial<KernelBenchJson>;
  if (!Array.isArray(result.rows) || !Array.isArray(result.matmul) || !Array.isArray(result.spawn_costs) || !Array.isArray(result.roofline) || !result.context) {
    throw new Error('bench:kernels --json lacks rows, matmul, spawn_costs, roofline or context');
  }
  for (const r of result.rows as unknown as Record<string, unknown>[]) {
    if (typeof r.mode !== 'string' || typeof r.n !== 'number' || typeof r.ns_per_element !== 'number') {
      throw new Error(`bench:kernels row without mode, n or ns_per_element: ${JSON.stringify(r).slice(0, 120)}`);
    }
  }
  return result as KernelBenchJson;
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
        const result = parseKernelJson(stdout);
        Object.assign(section, {
          rows: result.rows,
          crossovers: crossovers(result.rows),
          matmul: result.matmul,
          passes: result.passes,
          spawn_costs: result.spawn_costs,
          context: result.context,
          roofline: result.roofline,
          roofline_skipped: result.roofline_skipped,
          c: result.c ?? null,
        });
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
    .filter((l) => !/^\s{2}(\S+ \S+\/\S+|data add \S+) \S+ n=\d+: /.test(l))
    .join('\n')
    .trim();
}
