// The ceiling of the matmul micro-tile: the same register tile as
// assembly/matmul.ts (4 rows x two 128-bit vectors, a multiply and an add per
// lane and step, no FMA) in C, compiled with gcc at run time and run on packed
// panels that stay in L1, so it measures only what this core does with this
// instruction mix. Without gcc it is skipped.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Prints "float32 GFLOPS" and "float64 GFLOPS": the median of 9 timings of
// 200,000 (float64: 100,000) tiles of 256 steps each, by wall-clock time or,
// given "cpu", by the process's CPU time.
const C_SOURCE = String.raw`
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static clockid_t clock_id = CLOCK_MONOTONIC;
static double now(void) { struct timespec t; clock_gettime(clock_id, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

#define TILE(NAME, T, V, LANES, LOAD, SPLAT, MUL, ADD, STORE)                                       \
  __attribute__((noinline)) void NAME(const T *restrict ap, const T *restrict bp, int kc, T *restrict c) { \
    V c00 = SPLAT(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;     \
    for (int p = 0; p < kc; p++) {                                                                      \
      V b0 = LOAD(bp + 2 * LANES * p), b1 = LOAD(bp + 2 * LANES * p + LANES), x;                        \
      x = SPLAT(ap[4 * p]);     c00 = ADD(c00, MUL(x, b0)); c01 = ADD(c01, MUL(x, b1));                 \
      x = SPLAT(ap[4 * p + 1]); c10 = ADD(c10, MUL(x, b0)); c11 = ADD(c11, MUL(x, b1));                 \
      x = SPLAT(ap[4 * p + 2]); c20 = ADD(c20, MUL(x, b0)); c21 = ADD(c21, MUL(x, b1));                 \
      x = SPLAT(ap[4 * p + 3]); c30 = ADD(c30, MUL(x, b0)); c31 = ADD(c31, MUL(x, b1));                 \
    }                                                                                                   \
    STORE(c, c00); STORE(c + LANES, c01); STORE(c + 2 * LANES, c10); STORE(c + 3 * LANES, c11);         \
    STORE(c + 4 * LANES, c20); STORE(c + 5 * LANES, c21); STORE(c + 6 * LANES, c30); STORE(c + 7 * LANES, c31); \
  }
TILE(tile32, float, __m128, 4, _mm_loadu_ps, _mm_set1_ps, _mm_mul_ps, _mm_add_ps, _mm_storeu_ps)
TILE(tile64, double, __m128d, 2, _mm_loadu_pd, _mm_set1_pd, _mm_mul_pd, _mm_add_pd, _mm_storeu_pd)

#define RUN(TILEFN, T, LANES, CALLS, LABEL) {                                                          \
    static T a[4 * 256], b[2 * LANES * 256], c[8 * LANES];                                              \
    for (int i = 0; i < 4 * 256; i++) a[i] = 1e-3 * i;                                                  \
    for (int i = 0; i < 2 * LANES * 256; i++) b[i] = 1e-3 * i;                                          \
    double s[9];                                                                                        \
    for (int r = 0; r < 9; r++) {                                                                       \
      double t = now();                                                                                 \
      for (long i = 0; i < CALLS; i++) { TILEFN(a, b, 256, c); __asm__ volatile("" ::"r"(c) : "memory"); } \
      s[r] = now() - t;                                                                                 \
    }                                                                                                   \
    qsort(s, 9, sizeof s[0], cmp);                                                                      \
    printf("%s %.4g\n", LABEL, CALLS * 2.0 * 4 * 2 * LANES * 256 / s[4] / 1e9);                         \
  }

int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == 'c') clock_id = CLOCK_PROCESS_CPUTIME_ID;
  RUN(tile32, float, 4, 200000, "float32")
  RUN(tile64, double, 2, 100000, "float64")
  return 0;
}
`;

/** The flags: VEX-encoded 128-bit operations (as V8 emits them), no FMA, no contraction of a * b + c. */
export const CEILING_FLAGS = ['-O3', '-mavx', '-mno-fma', '-ffp-contract=off'];

/** GFLOPS of the C micro-tile per dtype, or why it was skipped. */
export function matmulCeiling(clock: 'wall' | 'cpu' = 'wall'): { gflops: Record<'float32' | 'float64', number> } | { skipped: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmatrix-matmul-ceiling-'));
  try {
    writeFileSync(join(dir, 'tile.c'), C_SOURCE);
    try {
      execFileSync('gcc', [...CEILING_FLAGS, '-o', join(dir, 'tile'), join(dir, 'tile.c')], { stdio: 'pipe' });
    } catch (e) {
      return { skipped: `gcc unavailable or failed (${(e as Error).message.split('\n')[0]})` };
    }
    const out = execFileSync(join(dir, 'tile'), [clock], { encoding: 'utf8', timeout: 120_000 });
    const gflops = { float32: NaN, float64: NaN };
    for (const line of out.trim().split('\n')) {
      const [dtype, value] = line.split(' ') as ['float32' | 'float64', string];
      gflops[dtype] = Number(value);
    }
    return { gflops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
