// Matrix multiplication C = A x B (A m x k, B k x n, C m x n, row-major) as
// bands of rows of C: what a band is, how much scratch it needs, and how one
// runs. The kernels themselves: assembly/matmul.ts (WASM) and ts-matmul.ts
// (the baseline); docs/matmul.md explains the rounding order they share, the
// seed derivation and the checksum.

import type { Dtype } from './dtype.js';
import { ELEMENT_BYTES } from './dtype.js';
import type { Kernels } from './kernels.js';

// The blocking of the WASM kernel, which sizes the scratch (assembly/matmul.ts
// has the same constants; a test checks matmulScratchBytes against its
// matmul_scratch_bytes export).
/** Rows of the register tile. */
const MR = 4;
/** Bytes of one row of the register tile (two v128). */
const TILE_ROW_BYTES = 32;
/** Values of k per block. */
export const MATMUL_KC = 512;
/** Rows of A per packed block. */
const MC = 32;
/** Bytes of one row of a packed block of B. */
export const MATMUL_NC_BYTES = 4096;

/**
 * Bytes of scratch one band call needs, whatever its number of rows and
 * whichever kernel set runs it: a packed block of B, a packed block of A, an
 * edge tile and one generated row of A. Each concurrently running band needs
 * its own region of this size (the kernels never allocate).
 */
export function matmulScratchBytes(dtype: Dtype, k: number, n: number): number {
  const size = ELEMENT_BYTES[dtype];
  const nr = TILE_ROW_BYTES / size;
  const kc = Math.min(k, MATMUL_KC);
  const nc = Math.min(Math.ceil(n / nr) * nr, MATMUL_NC_BYTES / size);
  return (kc * nc + MC * kc + kc) * size + MR * TILE_ROW_BYTES;
}

/** One band of rows of C, as a worker (or the calling thread) runs it. */
export interface MatmulBand {
  dtype: Dtype;
  /** The inner dimension (columns of A, rows of B) and the columns of B and C. */
  k: number;
  n: number;
  /** First row of the band in the whole C (the generator and the checksum need it). */
  firstRow: number;
  rows: number;
  /** Byte offsets: the band's first row of A (rows x k), all of B (k x n), the band's first row of C (rows x n). A and B unused for seeded bands. */
  a: number;
  b: number;
  c: number;
  /** Byte offset of matmulScratchBytes(dtype, k, n) bytes owned by this band while it runs. */
  scratch: number;
  /** A and B are the generator's matrices 0 and 1 of this seed; undefined for caller data. */
  seed?: number | undefined;
}

/** Computes one band of C and returns its checksum part (unsigned); bands' parts add up (mod 2^32) to the whole C's. */
export function runMatmulBand(kernels: Kernels, band: MatmulBand): number {
  const { dtype, c, scratch, rows, k, n, firstRow } = band;
  if (band.seed !== undefined) return kernels.randomMatmul(dtype, c, scratch, rows, k, n, firstRow, band.seed);
  return kernels.matmul(dtype, band.a, band.b, c, scratch, rows, k, n, firstRow);
}
