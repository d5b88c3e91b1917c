// NumPy as the outside reference for matmul: found on this machine if any
// python3 has it, used by the benchmark (its `a @ b` on one thread and on all
// cores, with the BLAS it ran) and by the tests (a cross-check within a stated
// tolerance).

import { execFileSync, spawnSync } from 'node:child_process';

/** PATH's python3 first (it may carry a NumPy wheel with its own OpenBLAS), then Debian's. */
const CANDIDATES = ['python3', '/usr/bin/python3'];

/** The first python3 that imports numpy, or undefined. */
export function findPythonWithNumpy(): string | undefined {
  for (const python of CANDIDATES) {
    const r = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore', timeout: 30_000 });
    if (r.status === 0) return python;
  }
  return undefined;
}

/** C = A @ B computed by NumPy in `dtype` ('int32', 'float32', 'float64'); A and B as raw little-endian bytes. */
export function numpyMatmul(python: string, dtype: string, m: number, k: number, n: number, a: Uint8Array, b: Uint8Array): Buffer {
  const program = [
    'import sys, numpy as np',
    'm, k, n = map(int, sys.argv[1:4]); dt = np.dtype(sys.argv[4]); data = sys.stdin.buffer.read()',
    'a = np.frombuffer(data, dt, m * k).reshape(m, k)',
    'b = np.frombuffer(data, dt, k * n, offset=m * k * dt.itemsize).reshape(k, n)',
    'sys.stdout.buffer.write(np.ascontiguousarray(a @ b).tobytes())',
  ].join('\n');
  return execFileSync(python, ['-c', program, String(m), String(k), String(n), dtype], {
    input: Buffer.concat([a, b]),
    maxBuffer: 1 << 30,
    timeout: 60_000,
  });
}
