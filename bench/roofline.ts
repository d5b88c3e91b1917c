// The roofline: the same loops as the kernels, in C, built several ways in the
// same run, against the WASM kernels (and the TS baseline) on one thread; and
// C with OpenMP on 1 and 2 threads, the yardstick of the thread pool's
// speed-up. The C program is compiled to a temporary directory at run time;
// without gcc (or libgomp) its cells are skipped and say why.
//
// Kernels (int32, the lab's dtype):
//   add     o = a + b (wrapping), bare: no checksum
//   addsum  o = a + b and the checksum of o in the same pass (what a data job does)
//   lab     the lab's job: A and B drawn from the generator (assembly/generator.ts),
//           added, stored, checksummed in one pass (what random_add_i32 does)
//
// Builds: gcc -O3 with -march=native (what gcc picks for this CPU; gcc 12
// prefers 256-bit vectors even where AVX-512 exists), -march=native with
// 512-bit vectors preferred (when the CPU has AVX-512F), AVX2 (256-bit, FMA
// allowed: add has no multiply-add to fuse) and -msse4.2 (128-bit: the width
// of WASM SIMD). OpenMP uses the 128-bit build, so its speed-up is that of the
// same vector width as the thread pool's.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernels } from '../src/kernels/kernels.js';
import type { Arena } from '../src/memory/arena.js';
import { measure, summarize, type MeasureOptions, type Timing } from './measure.js';

/** The seed of the lab kernel's matrices, in C and in the WASM and TS cells (cases.ts uses the same). */
export const ROOFLINE_SEED = 20240501;

// "./roofline KERNEL THREADS N..." prints, per n, "n check s1 ... s11": the
// check value (add: o[c/2]; addsum, lab: the checksum, unsigned) and the
// seconds per call of 11 timed batches (warm-up >= 20 ms, batches >= 3 ms).
// The benchmark runs it once per round, builds in turn, and keeps the median
// of the round medians (the machine is shared).
const C_SOURCE = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define GOLDEN 0x9e3779b9u
#define BATCHES 11
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *x, const void *y) { double a = *(const double *)x, b = *(const double *)y; return (a > b) - (a < b); }

static inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16; return x;
}
static uint32_t row_key(uint32_t seed, uint32_t matrix, uint32_t row) {
  uint32_t s = mix32(seed ^ 0x243f6a88u), m = mix32(s + 0x85ebca77u * (matrix + 1));
  return mix32(m + 0xc2b2ae3du * (row + 1));
}
static inline int32_t to_int32(uint32_t w) { return (int32_t)(((w >> 8) * 100u) >> 24); }

__attribute__((noinline)) uint32_t k_add(const int32_t *restrict a, const int32_t *restrict b, int32_t *restrict o, size_t rows, size_t cols) {
  size_t c = rows * cols;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < c; i++) o[i] = (int32_t)((uint32_t)a[i] + (uint32_t)b[i]);
  return (uint32_t)o[c / 2];
}

__attribute__((noinline)) uint32_t k_addsum(const int32_t *restrict a, const int32_t *restrict b, int32_t *restrict o, size_t rows, size_t cols) {
  size_t c = rows * cols;
  uint32_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+:sum)
  for (size_t i = 0; i < c; i++) {
    uint32_t v = (uint32_t)a[i] + (uint32_t)b[i];
    o[i] = (int32_t)v;
    sum += v * (uint32_t)(2 * i + 1);
  }
  return sum;
}

__attribute__((noinline)) uint32_t k_lab(const int32_t *restrict a, const int32_t *restrict b, int32_t *restrict out, size_t rows, size_t cols) {
  (void)a; (void)b;
  uint32_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+:sum)
  for (size_t r = 0; r < rows; r++) {
    uint32_t ka = row_key(SEED, 0, (uint32_t)r), kb = row_key(SEED, 1, (uint32_t)r), first = (uint32_t)(r * cols);
    int32_t *o = out + r * cols;
    for (size_t c = 0; c < cols; c++) { /* a size_t index: a 32-bit one keeps gcc from vectorising the store */
      uint32_t k = (uint32_t)c, v = (uint32_t)to_int32(mix32(ka + GOLDEN * k)) + (uint32_t)to_int32(mix32(kb + GOLDEN * k));
      o[c] = (int32_t)v;
      sum += v * (2 * (first + k) + 1);
    }
  }
  return sum;
}

typedef uint32_t (*kernel_fn)(const int32_t *, const int32_t *, int32_t *, size_t, size_t);

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s add|addsum|lab THREADS N...\n", argv[0]); return 2; }
  kernel_fn k = !strcmp(argv[1], "add") ? k_add : !strcmp(argv[1], "addsum") ? k_addsum : !strcmp(argv[1], "lab") ? k_lab : 0;
  if (!k) { fprintf(stderr, "unknown kernel %s\n", argv[1]); return 2; }
#ifdef _OPENMP
  omp_set_num_threads(atoi(argv[2]));
#else
  if (atoi(argv[2]) != 1) { fprintf(stderr, "built without OpenMP: 1 thread only\n"); return 2; }
#endif
  for (int arg = 3; arg < argc; arg++) {
    size_t n = strtoul(argv[arg], 0, 10), c = n * n, bytes = (c * 4 + 63) / 64 * 64;
    int32_t *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *o = aligned_alloc(64, bytes);
    if (!a || !b || !o) { fprintf(stderr, "out of memory at n = %zu\n", n); return 1; }
    for (size_t i = 0; i < c; i++) { a[i] = (int32_t)(i * 2654435761u); b[i] = (int32_t)(i * 40503u); o[i] = 0; }
    uint32_t check = 0;
    double t0 = now(); size_t calls = 0;
    do { check = k(a, b, o, n, n); calls++; } while (calls < 2 || now() - t0 < 0.02);
    size_t batch = (size_t)(0.003 / ((now() - t0) / calls)); if (batch < 1) batch = 1;
    double s[BATCHES];
    for (int r = 0; r < BATCHES; r++) { double t = now(); for (size_t i = 0; i < batch; i++) check = k(a, b, o, n, n); s[r] = (now() - t) / batch; }
    printf("%zu %u", n, check);
    for (int r = 0; r < BATCHES; r++) printf(" %.9g", s[r]);
    printf("\n");
    free(a); free(b); free(o);
  }
  return 0;
}
`;

export const C_KERNELS = ['add', 'addsum', 'lab'] as const;
export type CKernel = (typeof C_KERNELS)[number];

export interface CBuild {
  name: string;
  flags: string[];
  /** What the build stands for, as the report says it. */
  about: string;
}

/** The single-thread builds, widest first. native-512 only where the CPU has AVX-512F. */
export const C_BUILDS: readonly CBuild[] = [
  { name: 'native', flags: ['-O3', '-march=native'], about: "gcc's pick for this CPU" },
  { name: 'native-512', flags: ['-O3', '-march=native', '-mprefer-vector-width=512'], about: '512-bit AVX-512 vectors' },
  { name: 'avx2', flags: ['-O3', '-mavx2', '-mfma', '-mprefer-vector-width=256', '-mno-avx512f'], about: '256-bit AVX2; FMA allowed, though add has no multiply-add to fuse' },
  { name: 'sse4.2', flags: ['-O3', '-msse4.2'], about: '128-bit, the width of WASM SIMD' },
];
export const OPENMP_BUILD: CBuild = { name: 'sse4.2 OpenMP', flags: ['-O3', '-msse4.2', '-fopenmp'], about: '128-bit, libgomp defaults: static schedule, threads spin a while before sleeping' };

/** The sizes of the roofline, and those of the OpenMP cells (where the pool's speed-up target applies). */
export const ROOFLINE_SIZES = [64, 500, 1024, 2048, 4096];
export const OPENMP_MIN_N = 2048;
export const OPENMP_KERNELS: readonly CKernel[] = ['add', 'addsum'];

/** What `gcc -Q --help=target -march=native` says of this CPU. */
export interface CpuFeatures {
  march: string;
  avx2: boolean;
  fma: boolean;
  avx512f: boolean;
  /** gcc's preferred vector width for -march=native, in bits (e.g. 256), when stated. */
  prefer_vector_width: number | null;
}

/** Reads the lines `  -mavx512f    [enabled]` and `  -march=    rocketlake` of gcc's target help. */
export function parseTargetHelp(text: string): CpuFeatures {
  const value = (option: string): string | undefined => {
    const line = text.split('\n').find((l) => l.trim().split(/\s+/)[0] === option);
    return line?.trim().split(/\s+/)[1];
  };
  const enabled = (option: string): boolean => value(option) === '[enabled]';
  const width = Number(value('-mprefer-vector-width='));
  return { march: value('-march=') ?? 'unknown', avx2: enabled('-mavx2'), fma: enabled('-mfma'), avx512f: enabled('-mavx512f'), prefer_vector_width: Number.isFinite(width) && width > 0 ? width : null };
}

export function describeCpu(f: CpuFeatures): string {
  const vectors = f.prefer_vector_width === null ? '' : `, gcc prefers ${f.prefer_vector_width}-bit vectors for it`;
  return `gcc -march=native: ${f.march}; AVX2 ${f.avx2 ? 'yes' : 'no'}, FMA ${f.fma ? 'yes' : 'no'}, AVX-512F ${f.avx512f ? 'yes' : 'no'}${vectors}`;
}

/** One line of the C program's output: n, its check value, and the timing of its batches. */
export interface CLine {
  n: number;
  check: number;
  timing: Timing;
}

export function parseCOutput(out: string): CLine[] {
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [n, check, ...samples] = line.trim().split(/\s+/).map(Number) as [number, number, ...number[]];
      if (!Number.isInteger(n) || !Number.isInteger(check) || samples.length === 0 || samples.some((s) => !(s > 0))) throw new Error(`roofline: unreadable line from the C program: "${line}"`);
      return { n, check, timing: { ...summarize(samples), repeats: samples.length, batch: 0, calls: samples } };
    });
}

/** The compiled C programs of one run (in a temporary directory until close()). */
export class CRoofline {
  readonly features: CpuFeatures | null;
  /** Builds that compiled, by name; and why the others did not. */
  readonly built = new Map<string, string>();
  readonly problems = new Map<string, string>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'wasmatrix-roofline-'));

  constructor() {
    let features: CpuFeatures | null = null;
    try {
      features = parseTargetHelp(execFileSync('gcc', ['-Q', '--help=target', '-march=native'], { encoding: 'utf8', stdio: 'pipe' }));
    } catch {
      // gcc missing: every build below fails and says so
    }
    this.features = features;
    const source = join(this.#dir, 'roofline.c');
    writeFileSync(source, C_SOURCE);
    for (const build of [...C_BUILDS, OPENMP_BUILD]) {
      if (build.name === 'native-512' && features && !features.avx512f) {
        this.problems.set(build.name, 'this CPU has no AVX-512F');
        continue;
      }
      const binary = join(this.#dir, build.name.replace(/[^a-z0-9.-]/gi, '_'));
      try {
        execFileSync('gcc', [...build.flags, `-DSEED=${ROOFLINE_SEED}u`, '-o', binary, source], { stdio: 'pipe' });
        this.built.set(build.name, binary);
      } catch (e) {
        this.problems.set(build.name, `gcc unavailable or failed (${(e as Error).message.split('\n')[0]})`);
      }
    }
  }

  /** Runs one build's kernel at each n; null (the reason in problems) when that build is missing. */
  run(build: string, kernel: CKernel, threads: number, sizes: number[]): CLine[] | null {
    const binary = this.built.get(build);
    if (!binary) return null;
    return parseCOutput(execFileSync(binary, [kernel, String(threads), ...sizes.map(String)], { encoding: 'utf8', timeout: 300_000 }));
  }

  close(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The bare WASM (or TS) kernel on the calling thread: 'add' (binary, no checksum) or 'lab' (randomBinary). */
export async function timeKernel(local: { kernels: Kernels; arena: Arena }, kernel: 'add' | 'lab', n: number, options: MeasureOptions): Promise<Timing> {
  const count = n * n;
  const [a, b, out] = [0, 1, 2].map(() => local.arena.alloc(count * 4)) as [number, number, number];
  try {
    local.kernels.fill('int32', a, n, 0, n, 1, 0);
    local.kernels.fill('int32', b, n, 0, n, 1, 1);
    const call = kernel === 'add' ? () => local.kernels.binary('add', 'int32', a, b, out, count) : () => local.kernels.randomBinary('add', 'int32', out, n, 0, n, ROOFLINE_SEED);
    return await measure(call, options);
  } finally {
    for (const p of [a, b, out]) local.arena.free(p);
  }
}
