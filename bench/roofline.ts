// The roofline check: the bare int32 add kernel (no checksum, no dispatch) in
// WASM and in the TS baseline against the same loop in C compiled with
// `gcc -O3 -march=native`, single-threaded, in one run. The C benchmark is
// compiled to a temporary directory at run time; without gcc it is skipped.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernels } from '../src/kernels/kernels.js';
import type { Arena } from '../src/memory/arena.js';
import { measure, type MeasureOptions, type Timing } from './measure.js';

// Times o = a + b (int32, wrapping) for each n x n given on the command line;
// prints "n median min max" in seconds per call. Batches and repeats like
// measure.ts: warm-up, batches of >= 4 ms, 15 batches, median.
const C_SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

__attribute__((noinline)) void add_i32(const int32_t *restrict a, const int32_t *restrict b, int32_t *restrict o, size_t n) {
  for (size_t i = 0; i < n; i++) o[i] = (int32_t)((uint32_t)a[i] + (uint32_t)b[i]);
}

static int cmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

int main(int argc, char **argv) {
  for (int k = 1; k < argc; k++) {
    size_t n = strtoul(argv[k], 0, 10), c = n * n, bytes = (c * 4 + 63) / 64 * 64;
    int32_t *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *o = aligned_alloc(64, bytes);
    for (size_t i = 0; i < c; i++) { a[i] = (int32_t)(i * 2654435761u); b[i] = (int32_t)(i * 40503u); o[i] = 0; }
    double t0 = now(); size_t calls = 0;
    do { add_i32(a, b, o, c); calls++; } while (calls < 2 || now() - t0 < 0.03);
    size_t batch = (size_t)(0.004 / ((now() - t0) / calls)); if (batch < 1) batch = 1;
    double s[15];
    for (int r = 0; r < 15; r++) { double t = now(); for (size_t i = 0; i < batch; i++) add_i32(a, b, o, c); s[r] = (now() - t) / batch; }
    qsort(s, 15, sizeof s[0], cmp);
    printf("%zu %.9g %.9g %.9g %d\n", n, s[7], s[0], s[14], (int)o[c / 2]);
    free(a); free(b); free(o);
  }
  return 0;
}
`;

/** One size of the roofline, ns per element (medians); c is null when the C comparison was skipped. */
export interface RooflineRow {
  n: number;
  c_ns: number | null;
  wasm_ns: number;
  ts_ns: number;
}

/** Compiles and runs the C benchmark; undefined (with the reason) when gcc is missing or fails. */
export function runC(sizes: number[]): { timings: Map<number, Timing> } | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-roofline-'));
  try {
    writeFileSync(join(dir, 'add.c'), C_SOURCE);
    try {
      execFileSync('gcc', ['-O3', '-march=native', '-o', join(dir, 'add'), join(dir, 'add.c')], { stdio: 'pipe' });
    } catch (e) {
      return { skipped: `gcc unavailable or failed (${(e as Error).message.split('\n')[0]})` };
    }
    const out = execFileSync(join(dir, 'add'), sizes.map(String), { encoding: 'utf8' });
    const timings = new Map<number, Timing>();
    for (const line of out.trim().split('\n')) {
      const [n, median, min, max] = line.split(' ').map(Number) as [number, number, number, number];
      timings.set(n, { median, min, max, repeats: 15, batch: 0 });
    }
    return { timings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare add_i32 kernel on the calling thread, over regions of its own arena. */
export async function timeAddKernel(local: { kernels: Kernels; arena: Arena }, n: number, options: MeasureOptions): Promise<Timing> {
  const count = n * n;
  const [a, b, out] = [0, 1, 2].map(() => local.arena.alloc(count * 4)) as [number, number, number];
  try {
    local.kernels.fill('int32', a, n, 0, n, 1, 0);
    local.kernels.fill('int32', b, n, 0, n, 1, 1);
    return await measure(() => local.kernels.binary('add', 'int32', a, b, out, count), options);
  } finally {
    for (const p of [a, b, out]) local.arena.free(p);
  }
}
