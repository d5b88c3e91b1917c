// The matmul rows of `npm run bench:kernels`: GFLOPS (2 n^3 / seconds, square
// n) of C = A x B per mode and kernel, and NumPy's `a @ b` in the same run.
//
// A cell of ts, wasm and threads times caller data in place: A and B are
// written into memory once; each call computes all of C as the mode does,
// checksum included (threads: bands of rows of C on 1..pool-size workers, all
// reading the one B in the shared memory). A child process has no shared
// memory, so `processes` times the random job through engine.run(): each child
// draws its rows of A and all of B from the seed, only checksums come back.
// `auto` times what auto picks for the data job (the calling thread or the
// thread pool) and says which.

import { spawnSync } from 'node:child_process';
import { MODES, type JobSpec, type Mode } from '../src/engines/job.js';
import type { Engines } from '../src/engines/index.js';
import { ELEMENT_BYTES, type Dtype } from '../src/kernels/dtype.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { matmulScratchBytes, runMatmulBand } from '../src/kernels/matmul.js';
import type { Arena } from '../src/memory/arena.js';
import { callerData, type LocalKernels } from './cases.js';
import { CPU_CLOCK, measure, WALL_CLOCK, type Call, type Clock, type MeasureOptions, type Timing } from './measure.js';

export const MATMUL_SIZES = [64, 128, 256, 512, 1024, 2048];
export const MATMUL_DTYPES: Dtype[] = ['float32', 'float64'];
/** Every in-process mode (the cluster needs NATS and worker hosts: the HTTP bench measures it). */
export const MATMUL_MODES: readonly Mode[] = MODES.filter((m) => m !== 'cluster');

/** One cell; --json prints these fields minus min and max. */
export interface MatmulRow {
  op: 'matmul';
  /** A wasmatrix mode, or 'numpy'. */
  mode: string;
  /** wasm or ts; for numpy, its BLAS and the kernel it ran. */
  kernel: string;
  dtype: Dtype;
  n: number;
  workers: number;
  /** Median; min and max from the fastest and slowest batch. */
  gflops: number;
  min: number;
  max: number;
  /** auto: the mode it picked (printed, and in --json). */
  picked?: string;
}

/** A call of one second or more is timed once: the loops were compiled and warmed at the smaller sizes before it. */
const LONG_CALL_S = 1;
const MATMUL_MEASURE: MeasureOptions = { warmupMs: 50, batchMs: 20, budgetMs: 1000, minRepeats: 3, maxRepeats: 11 };
const QUICK_MATMUL_MEASURE: MeasureOptions = { warmupMs: 20, batchMs: 10, budgetMs: 200, minRepeats: 3, maxRepeats: 5 };
const SEED = 20240501;

interface MatmulCase {
  call: Call;
  workers: number;
  dispose(): void;
}

/** All of C for square n on the calling thread, over A and B placed once in that kernel set's memory. */
function inPlaceLocal(local: { kernels: Kernels; arena: Arena }, dtype: Dtype, n: number): MatmulCase {
  const { kernels, arena } = local;
  const bytes = n * n * ELEMENT_BYTES[dtype];
  const [a, b, c, scratch] = [bytes, bytes, bytes, matmulScratchBytes(dtype, n, n)].map((x) => arena.alloc(x)) as [number, number, number, number];
  kernels.fill(dtype, a, n, 0, n, SEED, 0);
  kernels.fill(dtype, b, n, 0, n, SEED, 1);
  const band = { dtype, k: n, n, firstRow: 0, rows: n, a, b, c, scratch };
  return { call: () => runMatmulBand(kernels, band), workers: 1, dispose: () => [a, b, c, scratch].forEach((p) => arena.free(p)) };
}

/** One cell to time: the kernel set and workers it runs with, and how to set it up. */
export interface MatmulCell {
  kernel: string;
  /** auto: the mode it picked. */
  picked?: string;
  workers: number;
  prepare(): MatmulCase;
}

/** The cells of one mode at (dtype, n): one for ts, wasm, processes and auto; one per worker count for threads. */
export function matmulCells(engines: Engines, local: LocalKernels, mode: Mode, dtype: Dtype, n: number): MatmulCell[] {
  const data = (): JobSpec => ({ op: 'matmul', dtype, rows: n, cols: n, inner: n, source: { kind: 'data', a: callerData(dtype, n * n), b: callerData(dtype, n * n) }, output: 'summary', kernel: 'wasm' });
  const onThreads = (workers: number): MatmulCase => {
    const prepared = engines.threads.prepare(data(), workers);
    return { call: () => prepared.run(), workers, dispose: () => prepared.free() };
  };
  switch (mode) {
    case 'ts':
    case 'wasm':
      return [{ kernel: mode, workers: 1, prepare: () => inPlaceLocal(local[mode], dtype, n) }];
    case 'threads':
      return Array.from({ length: engines.threads.maxWorkers }, (_, i) => ({ kernel: 'wasm', workers: i + 1, prepare: () => onThreads(i + 1) }));
    case 'processes':
      return Array.from({ length: engines.processes.maxWorkers }, (_, i) => {
        const job: JobSpec = { op: 'matmul', dtype, rows: n, cols: n, inner: n, source: { kind: 'random', seed: SEED }, output: 'summary', kernel: 'wasm', workers: i + 1 };
        return { kernel: 'wasm', workers: i + 1, prepare: () => ({ call: () => engines.processes.run(job), workers: i + 1, dispose: () => {} }) };
      });
    case 'cluster':
      throw new Error('the in-process matmul bench does not measure the cluster mode (it needs NATS and worker hosts)');
    case 'auto': {
      const choice = engines.auto.choose(data());
      const picked = choice.engine.mode;
      return [{ kernel: 'wasm', picked, workers: choice.workers, prepare: () => (picked === 'threads' ? onThreads(choice.workers) : inPlaceLocal(local.wasm, dtype, n)) }];
    }
  }
}

async function timeMatmul(call: Call, quick: boolean, clock: Clock): Promise<Timing> {
  const t0 = clock();
  await call();
  const first = (clock() - t0) / 1000;
  if (first >= LONG_CALL_S) return { median: first, min: first, max: first, repeats: 1, batch: 1 };
  return measure(call, quick ? QUICK_MATMUL_MEASURE : MATMUL_MEASURE, clock);
}

/**
 * What the cells are timed by: 'wall' (what a caller waits; every mode), or
 * 'cpu', this process's CPU time, for the one-core cells only (ts and wasm on
 * the calling thread, NumPy on one thread, the C ceiling): on a shared machine
 * it leaves out the time the benchmark was descheduled.
 */
export type MatmulClock = 'wall' | 'cpu';
/** The modes whose cells run on the calling thread alone (the only ones --clock cpu can time). */
export const ONE_CORE_MODES: readonly Mode[] = ['ts', 'wasm'];

const gflops = (n: number, seconds: number): number => Number(((2 * n ** 3) / seconds / 1e9).toPrecision(4));

export interface MatmulOptions {
  sizes: number[];
  dtypes: Dtype[];
  modes: readonly Mode[];
  quick: boolean;
  clock: MatmulClock;
}

/** Every (dtype, n, mode) cell with a matmul case, dtype by dtype and n ascending (each loop is warm before its long calls). */
export async function measureMatmul(engines: Engines, local: LocalKernels, options: MatmulOptions, progress: (line: string) => void): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const dtype of options.dtypes)
    for (const n of [...options.sizes].sort((x, y) => x - y))
      for (const mode of options.modes.filter((m) => options.clock === 'wall' || ONE_CORE_MODES.includes(m)))
      for (const cell of matmulCells(engines, local, mode, dtype, n)) {
        const prepared = cell.prepare();
        let t: Timing;
        try {
          t = await timeMatmul(prepared.call, options.quick, options.clock === 'cpu' ? CPU_CLOCK : WALL_CLOCK);
        } finally {
          prepared.dispose();
        }
        const row: MatmulRow = { op: 'matmul', mode, kernel: cell.kernel, dtype, n, workers: prepared.workers, gflops: gflops(n, t.median), min: gflops(n, t.max), max: gflops(n, t.min) };
        if (cell.picked) row.picked = cell.picked;
        rows.push(row);
        progress(`  matmul ${mode} ${cell.kernel} ${dtype} n=${n} workers=${row.workers}: ${row.gflops} GFLOPS (${t.repeats} x ${t.batch})`);
      }
  return rows;
}

// ---------------------------------------------------------------------------
// NumPy, in a python3 child: the BLAS it loaded, then a @ b per dtype and n.

const NUMPY_PROGRAM = String.raw`
import ctypes, json, os, sys, time
import numpy as np
sizes = [int(s) for s in sys.argv[1].split(',')]
dtypes = sys.argv[2].split(',')
budget = float(sys.argv[3])
clock = time.process_time if sys.argv[4] == 'cpu' else time.perf_counter

def blas_info():
    info = {'python': sys.executable, 'numpy': np.__version__}
    try:
        blas = np.show_config(mode='dicts')['Build Dependencies']['blas']
        info['blas'] = ' '.join(str(blas.get(k, '')) for k in ('name', 'version')).strip()
    except Exception:
        cfg = getattr(np.__config__, 'blas_opt_info', None) or {}
        info['blas'] = ','.join(cfg.get('libraries', [])) or 'unknown'
    libs = set()
    with open('/proc/self/maps') as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and 'blas' in os.path.basename(parts[-1]).lower():
                libs.add(parts[-1])
    info['libraries'] = sorted(libs)
    for path in sorted(libs):
        lib = ctypes.CDLL(path)
        for prefix in ('openblas_', 'scipy_openblas_'):
            for suffix in ('', '64_'):
                corename = getattr(lib, prefix + 'get_corename' + suffix, None)
                if corename is not None and 'corename' not in info:
                    corename.restype = ctypes.c_char_p
                    info['corename'] = corename().decode()
                threads = getattr(lib, prefix + 'get_num_threads' + suffix, None)
                if threads is not None and 'threads' not in info:
                    threads.restype = ctypes.c_int
                    info['threads'] = threads()
    try:
        import threadpoolctl
        info['threadpoolctl'] = threadpoolctl.threadpool_info()
    except ImportError:
        pass
    return info

print(json.dumps({'info': blas_info()}), flush=True)
rng = np.random.default_rng(1)
for dt in dtypes:
    for n in sizes:
        a = rng.random((n, n), dtype=np.dtype(dt))
        b = rng.random((n, n), dtype=np.dtype(dt))
        t = clock(); a @ b; once = clock() - t
        batch = max(1, int(0.005 / max(once, 1e-6)))
        samples = []
        start = clock()
        while len(samples) < 3 or (clock() - start < budget and len(samples) < 31):
            t = clock()
            for _ in range(batch):
                a @ b
            samples.append((clock() - t) / batch)
        samples.sort()
        print(json.dumps({'dtype': dt, 'n': n, 'median': samples[len(samples) // 2], 'min': samples[0], 'max': samples[-1]}), flush=True)
`;

export interface NumpyInfo {
  python: string;
  numpy: string;
  blas: string;
  libraries: string[];
  corename?: string;
  threads?: number;
  threadpoolctl?: unknown;
}

export interface NumpyRun {
  threads: number;
  info: NumpyInfo;
  rows: MatmulRow[];
}

/**
 * NumPy's a @ b at each size and float dtype with `threads` BLAS threads. The
 * command runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (set on these
 * machines to pin the AVX2 kernel), so OpenBLAS picks the CPU's best kernel.
 */
export function runNumpy(python: string, sizes: number[], dtypes: Dtype[], threads: number, quick: boolean, clock: MatmulClock = 'wall'): NumpyRun | { problem: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const floats = dtypes.filter((d) => d !== 'int32');
  if (floats.length === 0) return { problem: 'no float dtype asked for (NumPy int32 matmul does not use BLAS)' };
  const r = spawnSync(python, ['-c', NUMPY_PROGRAM, sizes.join(','), floats.join(','), quick ? '0.2' : '1', clock], { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { problem: `${python} exited with ${r.status ?? r.signal}: ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' | ')}` };
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const info = lines[0]!.info as NumpyInfo;
  const kernel = [info.blas.split(' ')[0], info.corename].filter(Boolean).join(' ');
  const rows = lines.slice(1).map((l): MatmulRow => {
    const n = l.n as number;
    return { op: 'matmul', mode: 'numpy', kernel, dtype: l.dtype as Dtype, n, workers: threads, gflops: gflops(n, l.median as number), min: gflops(n, l.max as number), max: gflops(n, l.min as number) };
  });
  return { threads, info, rows };
}

// ---------------------------------------------------------------------------
// The printed table and the targets (measured, never asserted).

export function formatMatmul(rows: MatmulRow[]): string {
  const header = ['op', 'mode', 'kernel', 'dtype', 'n', 'w', 'GFLOPS', '(min-max)', 'x ts'];
  const ts = (r: MatmulRow) => rows.find((t) => t.mode === 'ts' && t.dtype === r.dtype && t.n === r.n);
  const cells = rows.map((r) => {
    const base = ts(r);
    return [r.op, r.picked ? `auto (${r.picked})` : r.mode, r.kernel, r.dtype, String(r.n), String(r.workers), r.gflops.toFixed(2), `(${r.min.toFixed(2)}-${r.max.toFixed(2)})`, base ? (r.gflops / base.gflops).toFixed(1) : '-'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => (i >= 4 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

export function matmulTargets(rows: readonly Omit<MatmulRow, 'min' | 'max'>[]): string[] {
  const find = (mode: string, dtype: Dtype, n: number, workers = 1) => rows.find((r) => r.mode === mode && r.dtype === dtype && r.n === n && r.workers === workers);
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const out: string[] = [];
  for (const [dtype, target] of [['float32', 50], ['float64', 25]] as const) {
    const cells = rows.filter((r) => r.mode === 'wasm' && r.dtype === dtype && r.n >= 512);
    if (cells.length === 0) continue;
    const worst = cells.reduce((x, y) => (y.gflops < x.gflops ? y : x));
    out.push(`matmul wasm ${dtype} one core, n >= 512: worst ${worst.gflops} GFLOPS at n=${worst.n} (target >= ${target}: ${verdict(worst.gflops >= target)})`);
  }
  const wasm512 = find('wasm', 'float32', 512);
  const ts512 = find('ts', 'float32', 512);
  if (wasm512 && ts512) {
    const x = wasm512.gflops / ts512.gflops;
    out.push(`matmul wasm vs ts float32 n=512: ${x.toFixed(1)}x (target >= 10x: ${verdict(x >= 10)})`);
  }
  for (const [mode, from, target] of [['threads', 512, 1.85], ['processes', 1024, 1.7]] as const)
    for (const two of rows.filter((r) => r.mode === mode && r.workers === 2 && r.n >= from)) {
      const one = find(mode, two.dtype, two.n, 1);
      if (!one) continue;
      const x = two.gflops / one.gflops;
      out.push(`matmul ${mode} ${two.dtype} n=${two.n}: 2 workers ${x.toFixed(2)}x one (target >= ${target}x: ${verdict(x >= target)})`);
    }
  for (const auto of rows.filter((r) => r.mode === 'auto')) {
    const fixed = rows.filter((r) => r.dtype === auto.dtype && r.n === auto.n && r.mode !== 'auto' && r.mode !== 'numpy' && r.mode !== 'ts');
    if (fixed.length === 0) continue;
    const best = fixed.reduce((x, y) => (y.gflops > x.gflops ? y : x));
    out.push(`matmul auto ${auto.dtype} n=${auto.n}: ${auto.gflops} GFLOPS (picked ${auto.picked}), best fixed ${best.mode}/${best.workers} ${best.gflops} (target within 10%: ${verdict(auto.gflops >= 0.9 * best.gflops)})`);
  }
  for (const w of rows.filter((r) => r.mode === 'wasm' && r.dtype === 'float32' && r.n >= 512)) {
    const numpy = find('numpy', 'float32', w.n, 1);
    if (!numpy) continue;
    const share = w.gflops / numpy.gflops;
    out.push(`matmul wasm float32 vs NumPy (${numpy.kernel}, 1 thread) n=${w.n}: ${(share * 100).toFixed(0)}% (target >= 22%: ${verdict(share >= 0.22)})`);
  }
  return out;
}
