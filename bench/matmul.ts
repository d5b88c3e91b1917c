// The matmul rows of `npm run bench:kernels`: GFLOPS (2 n^3 / seconds, square
// n) of C = A x B per mode and kernel, and NumPy's `a @ b` in the same run.
//
// A cell times caller data in place: A and B (the generator's matrices of one
// seed) are written into memory once; each call computes all of C as the mode
// does, checksum included. So far the modes with a cell are ts and wasm (one
// core); threads, processes and auto get theirs when matmul is wired through
// the engines: add a case to prepareMatmulCase and the mode to MATMUL_MODES.

import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Mode } from '../src/engines/job.js';
import { ELEMENT_BYTES, type Dtype } from '../src/kernels/dtype.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { matmulScratchBytes, runMatmulBand } from '../src/kernels/matmul.js';
import type { Arena } from '../src/memory/arena.js';
import type { LocalKernels } from './cases.js';
import { measure, type Call, type MeasureOptions, type Timing } from './measure.js';

export const MATMUL_SIZES = [64, 128, 256, 512, 1024, 2048];
export const MATMUL_DTYPES: Dtype[] = ['float32', 'float64'];
/** Modes with a matmul cell so far. */
export const MATMUL_MODES: readonly Mode[] = ['ts', 'wasm'];

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

export function prepareMatmulCase(local: LocalKernels, mode: Mode, dtype: Dtype, n: number): MatmulCase | undefined {
  switch (mode) {
    case 'ts':
    case 'wasm':
      return inPlaceLocal(local[mode], dtype, n);
    default:
      return undefined;
  }
}

async function timeMatmul(call: Call, quick: boolean): Promise<Timing> {
  const t0 = performance.now();
  await call();
  const first = (performance.now() - t0) / 1000;
  if (first >= LONG_CALL_S) return { median: first, min: first, max: first, repeats: 1, batch: 1 };
  return measure(call, quick ? QUICK_MATMUL_MEASURE : MATMUL_MEASURE);
}

const gflops = (n: number, seconds: number): number => Number(((2 * n ** 3) / seconds / 1e9).toPrecision(4));

export interface MatmulOptions {
  sizes: number[];
  dtypes: Dtype[];
  modes: readonly Mode[];
  quick: boolean;
}

/** Every (dtype, n, mode) cell with a matmul case, dtype by dtype and n ascending (each loop is warm before its long calls). */
export async function measureMatmul(local: LocalKernels, options: MatmulOptions, progress: (line: string) => void): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const dtype of options.dtypes)
    for (const n of [...options.sizes].sort((x, y) => x - y))
      for (const mode of options.modes) {
        const prepared = prepareMatmulCase(local, mode, dtype, n);
        if (!prepared) continue;
        let t: Timing;
        try {
          t = await timeMatmul(prepared.call, options.quick);
        } finally {
          prepared.dispose();
        }
        const row: MatmulRow = { op: 'matmul', mode, kernel: mode, dtype, n, workers: prepared.workers, gflops: gflops(n, t.median), min: gflops(n, t.max), max: gflops(n, t.min) };
        rows.push(row);
        progress(`  matmul ${mode} ${dtype} n=${n}: ${row.gflops} GFLOPS (${t.repeats} x ${t.batch})`);
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
        t = time.perf_counter(); a @ b; once = time.perf_counter() - t
        batch = max(1, int(0.005 / max(once, 1e-9)))
        samples = []
        start = time.perf_counter()
        while len(samples) < 3 or (time.perf_counter() - start < budget and len(samples) < 31):
            t = time.perf_counter()
            for _ in range(batch):
                a @ b
            samples.append((time.perf_counter() - t) / batch)
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
export function runNumpy(python: string, sizes: number[], dtypes: Dtype[], threads: number, quick: boolean): NumpyRun | { problem: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const floats = dtypes.filter((d) => d !== 'int32');
  if (floats.length === 0) return { problem: 'no float dtype asked for (NumPy int32 matmul does not use BLAS)' };
  const r = spawnSync(python, ['-c', NUMPY_PROGRAM, sizes.join(','), floats.join(','), quick ? '0.2' : '1'], { env, encoding: 'utf8', timeout: 600_000 });
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
    return [r.op, r.mode, r.kernel, r.dtype, String(r.n), String(r.workers), r.gflops.toFixed(2), `(${r.min.toFixed(2)}-${r.max.toFixed(2)})`, base ? (r.gflops / base.gflops).toFixed(1) : '-'];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((s, i) => (i >= 4 ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

export function matmulTargets(rows: MatmulRow[]): string[] {
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
  for (const w of rows.filter((r) => r.mode === 'wasm' && r.dtype === 'float32' && r.n >= 512)) {
    const numpy = find('numpy', 'float32', w.n, 1);
    if (!numpy) continue;
    const share = w.gflops / numpy.gflops;
    out.push(`matmul wasm float32 vs NumPy (${numpy.kernel}, 1 thread) n=${w.n}: ${(share * 100).toFixed(0)}% (target >= 22%: ${verdict(share >= 0.22)})`);
  }
  return out;
}
