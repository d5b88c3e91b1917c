// Matrix multiplication C = A x B over raw byte pointers into the one shared
// memory (A is m x k, B is k x n, C is m x n, all row-major, no padding).
// A kernel call computes one band of rows [firstRow, firstRow + rows) of C from
// the same rows of A and all of B, and returns the band's checksum part, so a
// job split into bands (threads, processes) gives the same C and checksum as
// one call. docs/matmul.md explains the design; the invariants in short:
//
// - Rounding order (the contract every kernel set follows, bit for bit):
//     acc = +0;  for p = 0, 1, ..., k-1:  acc = acc + A[i][p] * B[p][j]
//   each product rounded once to T and each sum rounded once to T (float32
//   accumulates in float32), no fused multiply-add, int32 wrapping mod 2^32.
//   Blocking over k keeps the order: a partial sum is stored in C in T
//   (exactly) and the next block of k continues from it, still ascending.
// - Every NaN in C is written as the canonical quiet NaN (0x7fc00000,
//   0x7ff8000000000000): which NaN payload an IEEE operation returns depends on
//   the hardware and on the operand order a compiler picks, so NaN bits are
//   made a function of the result alone.
// - No allocation: the caller passes `scratch`, matmul_scratch_bytes(size, k, n)
//   bytes owned by this call alone, for the packed blocks of A and B, an edge
//   tile and one generated row of A.
//
// Structure (the GotoBLAS/BLIS loop nest):
//   for each strip of NC columns (jc):
//     for each block of KC rows of B (pc):   pack (or draw) B[pc.., jc..] into
//                                            panels of NR columns, zero-padded
//       for each block of MC rows of A (ic): pack (or draw) A[ic.., pc..] into
//                                            micro-panels of MR rows, zero-padded
//         for each panel (jr):               the panel (KC x NR, 16 KiB) stays in L1
//           for each MR rows (ir):           the register tile MR x NR
// The micro-tile keeps an MR x NR block of C in 8 v128 registers: 4 rows x 2
// vectors (float32/int32: 4 x 8 values, float64: 4 x 4). An edge tile (past
// the last row or column) runs the same micro-tile on the zero padding into a
// small tile buffer, and only its real elements are copied to and from C.

import { checksum } from './checksum';
import { fillSegment, rowKey } from './generator';

/** Rows of the register tile. */
const MR: u32 = 4;
/** Bytes of one row of the register tile: two v128 (NR = 32 / element bytes columns). */
const TILE_ROW_BYTES: u32 = 32;
/** Rows of B (values of k) per packed block. */
const KC: u32 = 512;
/**
 * Rows of A per block. Small, because the C tiles of one panel of B span MC rows
 * of C, each on its own page once n >= 1024: 32 pages stay in the L1 TLB (128
 * measured 15% slower at n = 2048).
 */
const MC: u32 = 32;
/** Bytes of one row of a packed block of B: NC = NC_BYTES / element bytes columns (a block, KC x NC, is 2 MiB: about L2). */
const NC_BYTES: u32 = 4096;

/** Matrices of the generator (src/kernels/generator.ts): A is 0, B is 1, as for the element-wise ops. */
const MATRIX_A: u32 = 0;
const MATRIX_B: u32 = 1;

/** n rounded up to a multiple of m. */
// @ts-ignore: decorator
@inline function paddedTo(n: u32, m: u32): u32 { return (n + m - 1) / m * m; }

/** Scratch bytes one band call needs, for any number of rows (the same formula is in src/kernels/matmul.ts). */
// @ts-ignore: decorator
@inline function scratchBytes(size: u32, k: u32, n: u32): u32 {
  const kc = min(k, KC);
  const nc = min(paddedTo(n, TILE_ROW_BYTES / size), NC_BYTES / size);
  // packed block of B, packed block of A, edge tile, one generated row of A
  return (kc * nc + MC * kc + kc) * size + MR * TILE_ROW_BYTES;
}

// ---------------------------------------------------------------------------
// The micro-tile: C[0..MR)[0..NR) (+)= sum over p of A[r][p] * B[p][0..NR), p
// ascending, from a packed micro-panel of A (kc steps of MR values: the MR
// rows' values of one p side by side) and a packed panel of B (kc steps of NR
// values). c points at the tile's first element, ldc is the byte stride between
// its rows. accumulate: continue from the partial sums in C (a later block of
// k) instead of from +0.

function microTile<T>(ap: usize, bp: usize, kc: u32, c: usize, ldc: usize, accumulate: bool): void {
  const size: usize = sizeof<T>();
  const aStep: usize = <usize>MR * size;
  if (ASC_FEATURE_SIMD) {
    let c00 = v128.splat<T>(0), c01 = v128.splat<T>(0);
    let c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    if (accumulate) {
      c00 = v128.load(c, 0); c01 = v128.load(c, 16);
      c10 = v128.load(c + ldc, 0); c11 = v128.load(c + ldc, 16);
      c20 = v128.load(c + 2 * ldc, 0); c21 = v128.load(c + 2 * ldc, 16);
      c30 = v128.load(c + 3 * ldc, 0); c31 = v128.load(c + 3 * ldc, 16);
    }
    // one step of k: two vectors of B, one broadcast value of A per row
    const end = ap + <usize>kc * aStep;
    for (; ap < end; ap += aStep) {
      const b0 = v128.load(bp, 0);
      const b1 = v128.load(bp, 16);
      let x = v128.load_splat<T>(ap, 0);
      c00 = v128.add<T>(c00, v128.mul<T>(x, b0));
      c01 = v128.add<T>(c01, v128.mul<T>(x, b1));
      x = v128.load_splat<T>(ap, size);
      c10 = v128.add<T>(c10, v128.mul<T>(x, b0));
      c11 = v128.add<T>(c11, v128.mul<T>(x, b1));
      x = v128.load_splat<T>(ap, 2 * size);
      c20 = v128.add<T>(c20, v128.mul<T>(x, b0));
      c21 = v128.add<T>(c21, v128.mul<T>(x, b1));
      x = v128.load_splat<T>(ap, 3 * size);
      c30 = v128.add<T>(c30, v128.mul<T>(x, b0));
      c31 = v128.add<T>(c31, v128.mul<T>(x, b1));
      bp += TILE_ROW_BYTES;
    }
    v128.store(c, c00, 0); v128.store(c, c01, 16);
    v128.store(c + ldc, c10, 0); v128.store(c + ldc, c11, 16);
    v128.store(c + 2 * ldc, c20, 0); v128.store(c + 2 * ldc, c21, 16);
    v128.store(c + 3 * ldc, c30, 0); v128.store(c + 3 * ldc, c31, 16);
  } else {
    // the scalar build: one accumulator at a time, the same order
    const nr: usize = <usize>TILE_ROW_BYTES / size;
    for (let r: usize = 0; r < <usize>MR; r++) {
      for (let j: usize = 0; j < nr; j++) {
        const cp = c + r * ldc + j * size;
        let acc: T = accumulate ? load<T>(cp) : <T>0;
        for (let p: usize = 0; p < <usize>kc; p++) {
          acc += load<T>(ap + p * aStep + r * size) * load<T>(bp + p * <usize>TILE_ROW_BYTES + j * size);
        }
        store<T>(cp, acc);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Packing A: the block of rows ic..ic+mc and columns pc..pc+kc of the band's A
// into micro-panels of MR rows. Micro-panel g holds rows g*MR..g*MR+MR-1 as kc
// steps of MR values (row r's value of step p at (p*MR + r)), at
// packed + g * kc * MR * size; rows past mc are zero.

/**
 * Packs the block from the caller's A (row-major, k values per row, the band's
 * first row at a) or, when seeded, draws its rows from the generator's matrix
 * A of `seed` (through `row`, scratch for one row of kc values).
 */
// @ts-ignore: decorator
@inline function packA<T>(packed: usize, a: usize, k: u32, ic: u32, mc: u32, pc: u32, kc: u32, row: usize, firstRow: u32, seed: u32, seeded: bool): void {
  const size: usize = sizeof<T>();
  const aStep: usize = <usize>MR * size;
  const groups = (mc + MR - 1) / MR;
  for (let r: u32 = 0; r < groups * MR; r++) {
    const dst = packed + <usize>(r / MR) * <usize>kc * aStep + <usize>(r % MR) * size;
    if (r >= mc) {
      for (let p: usize = 0; p < <usize>kc; p++) store<T>(dst + p * aStep, <T>0);
      continue;
    }
    let src: usize;
    if (seeded) {
      fillSegment<T>(row, rowKey(seed, MATRIX_A, firstRow + ic + r), pc, kc);
      src = row;
    } else {
      src = a + (<usize>(ic + r) * <usize>k + <usize>pc) * size;
    }
    for (let p: usize = 0; p < <usize>kc; p++) store<T>(dst + p * aStep, load<T>(src + p * size));
  }
}

// ---------------------------------------------------------------------------
// Packing B: the block of rows pc..pc+kc and columns jc..jc+nc of B into
// panels of NR columns. Panel q holds columns jc+q*NR..jc+q*NR+NR-1 as kc rows
// of NR values (TILE_ROW_BYTES each), at packed + q * kc * TILE_ROW_BYTES;
// columns past nc are zero.

/** Copies one tile row (32 bytes). */
// @ts-ignore: decorator
@inline function copyTileRow(dst: usize, src: usize): void {
  if (ASC_FEATURE_SIMD) {
    v128.store(dst, v128.load(src, 0), 0);
    v128.store(dst, v128.load(src, 16), 16);
  } else {
    store<u64>(dst, load<u64>(src, 0), 0);
    store<u64>(dst, load<u64>(src, 8), 8);
    store<u64>(dst, load<u64>(src, 16), 16);
    store<u64>(dst, load<u64>(src, 24), 24);
  }
}

/**
 * Packs the block from the caller's B (row-major, n values per row) or, when
 * seeded, draws it from the generator's matrix B of `seed`: the same values
 * in the same places.
 */
// @ts-ignore: decorator
@inline function packB<T>(packed: usize, b: usize, n: u32, pc: u32, kc: u32, jc: u32, nc: u32, seed: u32, seeded: bool): void {
  const size: usize = sizeof<T>();
  const nr: u32 = TILE_ROW_BYTES / <u32>size;
  const fullPanels = nc / nr;
  const rest = nc - fullPanels * nr;
  const panelBytes = <usize>kc * TILE_ROW_BYTES;
  for (let p: u32 = 0; p < kc; p++) {
    let dst = packed + <usize>p * TILE_ROW_BYTES;
    if (seeded) {
      const key = rowKey(seed, MATRIX_B, pc + p);
      for (let q: u32 = 0; q < fullPanels; q++) {
        fillSegment<T>(dst, key, jc + q * nr, nr);
        dst += panelBytes;
      }
      if (rest > 0) fillSegment<T>(dst, key, jc + fullPanels * nr, rest);
    } else {
      const src = b + (<usize>(pc + p) * <usize>n + <usize>jc) * size;
      for (let q: u32 = 0; q < fullPanels; q++) {
        copyTileRow(dst, src + <usize>q * TILE_ROW_BYTES);
        dst += panelBytes;
      }
      if (rest > 0) memory.copy(dst, src + <usize>fullPanels * TILE_ROW_BYTES, <usize>rest * size);
    }
    if (rest > 0) memory.fill(dst + <usize>rest * size, 0, <usize>TILE_ROW_BYTES - <usize>rest * size);
  }
}

// ---------------------------------------------------------------------------
// One band.

/**
 * C rows [firstRow, firstRow + rows) at c (the band's first row), from A rows at
 * a (the band's first row, k values each; unused when seeded) and all of B at b
 * (unused when seeded). seeded: A and B are the generator's matrices 0 and 1 of
 * `seed`. Returns the band's checksum part.
 */
// @ts-ignore: decorator
@inline function matmulBand<T>(a: usize, b: usize, c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32, seed: u32, seeded: bool): u32 {
  const size: usize = sizeof<T>();
  const wordsPerValue: u32 = <u32>size / 4;
  if (rows == 0 || n == 0) return 0;
  const count = <usize>rows * <usize>n;
  if (k == 0) {
    memory.fill(c, 0, count * size);
    return checksum(c, <u32>count * wordsPerValue, firstRow * n * wordsPerValue);
  }
  const nr: u32 = TILE_ROW_BYTES / <u32>size;
  const ncMax: u32 = NC_BYTES / <u32>size;
  const ldc: usize = <usize>n * size;
  const kcMax = min(k, KC);
  const packed = scratch;
  const aBlock = packed + <usize>kcMax * <usize>min(paddedTo(n, nr), ncMax) * size;
  const tile = aBlock + <usize>MC * <usize>kcMax * size;
  const row = tile + <usize>MR * <usize>TILE_ROW_BYTES;

  for (let jc: u32 = 0; jc < n; jc += ncMax) {
    const nc = min(ncMax, n - jc);
    for (let pc: u32 = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const accumulate = pc > 0;
      packB<T>(packed, b, n, pc, kc, jc, nc, seed, seeded);
      for (let ic: u32 = 0; ic < rows; ic += MC) {
        const mc = min(MC, rows - ic);
        packA<T>(aBlock, a, k, ic, mc, pc, kc, row, firstRow, seed, seeded);
        for (let jr: u32 = 0; jr < nc; jr += nr) {
          const nrHere = min(nr, nc - jr);
          const panel = packed + <usize>jr * <usize>kc * size;
          for (let ir: u32 = 0; ir < mc; ir += MR) {
            const mrHere = min(MR, mc - ir);
            const ap = aBlock + <usize>ir * <usize>kc * size;
            const cTile = c + <usize>(ic + ir) * ldc + <usize>(jc + jr) * size;
            if (mrHere == MR && nrHere == nr) {
              microTile<T>(ap, panel, kc, cTile, ldc, accumulate);
            } else {
              const bytes = <usize>nrHere * size;
              if (accumulate) for (let r: u32 = 0; r < mrHere; r++) memory.copy(tile + <usize>r * TILE_ROW_BYTES, cTile + <usize>r * ldc, bytes);
              microTile<T>(ap, panel, kc, tile, TILE_ROW_BYTES, accumulate);
              for (let r: u32 = 0; r < mrHere; r++) memory.copy(cTile + <usize>r * ldc, tile + <usize>r * TILE_ROW_BYTES, bytes);
            }
          }
        }
      }
    }
  }
  if (isFloat<T>()) canonicalizeNaNs<T>(c, count);
  return checksum(c, <u32>count * wordsPerValue, firstRow * n * wordsPerValue);
}

/** Rewrites every NaN among `count` values at ptr as the canonical quiet NaN. */
// @ts-ignore: decorator
@inline function canonicalizeNaNs<T>(ptr: usize, count: usize): void {
  const size: usize = sizeof<T>();
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const canonical = size == 4 ? i32x4.splat(0x7fc00000) : i64x2.splat(0x7ff8000000000000);
    const perVector: usize = 16 / size;
    const vectors = count - count % perVector;
    for (; i < vectors; i += perVector) {
      const p = ptr + i * size;
      const v = v128.load(p);
      v128.store(p, v128.bitselect(canonical, v, v128.ne<T>(v, v)));
    }
  }
  for (; i < count; i++) {
    const p = ptr + i * size;
    const v = load<T>(p);
    if (v != v) {
      if (size == 4) store<u32>(p, 0x7fc00000);
      else store<u64>(p, 0x7ff8000000000000);
    }
  }
}

// ---------------------------------------------------------------------------
// Exports. Pointers are byte addresses; rows, k, n count elements.

/** Bytes of scratch a band call needs for element size 4 or 8, inner dimension k and n columns. */
export function matmul_scratch_bytes(elementBytes: u32, k: u32, n: u32): u32 { return scratchBytes(elementBytes, k, n); }

export function matmul_i32(a: usize, b: usize, c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32): u32 { return matmulBand<i32>(a, b, c, scratch, rows, k, n, firstRow, 0, false); }
export function matmul_f32(a: usize, b: usize, c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32): u32 { return matmulBand<f32>(a, b, c, scratch, rows, k, n, firstRow, 0, false); }
export function matmul_f64(a: usize, b: usize, c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32): u32 { return matmulBand<f64>(a, b, c, scratch, rows, k, n, firstRow, 0, false); }

export function random_matmul_i32(c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32, seed: u32): u32 { return matmulBand<i32>(0, 0, c, scratch, rows, k, n, firstRow, seed, true); }
export function random_matmul_f32(c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32, seed: u32): u32 { return matmulBand<f32>(0, 0, c, scratch, rows, k, n, firstRow, seed, true); }
export function random_matmul_f64(c: usize, scratch: usize, rows: u32, k: u32, n: u32, firstRow: u32, seed: u32): u32 { return matmulBand<f64>(0, 0, c, scratch, rows, k, n, firstRow, seed, true); }
