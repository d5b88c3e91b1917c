// wasmatrix kernels: element-wise binary operations (bare, and fused with the
// checksum for caller data: elementwise.ts), a counter-based random generator
// and a band-combinable checksum, over raw byte pointers into the ONE imported
// shared memory.
//
// Rules every kernel here follows (see README "Kernels"):
// - no allocation, no static data, no start function: every worker thread
//   instantiates this module over the same memory, and each instance would have
//   its own allocator and would re-run data segments;
// - pointers are byte addresses chosen by the TypeScript side (src/memory);
// - a v128 SIMD main loop, unrolled four vectors deep, then a scalar tail, so
//   any length is correct (1, 3, 5, 17, 63, 65, ...);
// - the same source builds a scalar-only module (ASC_FEATURE_SIMD is false),
//   the fallback for engines without SIMD.

import { horizontalSum, weightsFrom } from './checksum';
import { binary, binaryChecksum, OP_ADD, OP_MUL, OP_SUB, scalarOp, vectorOp } from './elementwise';
import { float64sHigh, float64sLow, fillRandom, GOLDEN, mix32, mix32x4, rowKey, toFloat32, toFloat64, toInt32, valuesOf } from './generator';

export { checksum } from './checksum';
export { rowKey } from './generator';
export { matmul_f32, matmul_f64, matmul_i32, matmul_scratch_bytes, random_matmul_f32, random_matmul_f64, random_matmul_i32 } from './matmul';

// ---------------------------------------------------------------------------
// The lab's job in one pass: out = A op B where A and B are generator matrices
// (0 and 1) that are never stored: each value of A and B is drawn in a
// register, combined, written to out and added to the checksum. The same
// values as fill + binary + checksum, with a third of the memory traffic.
// Returns the band's checksum part.

// @ts-ignore: decorator
@inline function randomBinary<T>(op: i32, out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 {
  const size = sizeof<T>();
  const wordsPerValue: u32 = isFloat<T>() && size == 8 ? 2 : 1;
  let sum: u32 = 0;
  for (let r: u32 = 0; r < rows; r++) {
    const row = firstRow + r;
    const keyA = rowKey(seed, 0, row);
    const keyB = rowKey(seed, 1, row);
    const rowPtr = out + <usize>r * <usize>cols * size;
    const firstWord: u32 = row * cols * wordsPerValue;
    let c: u32 = 0;
    if (ASC_FEATURE_SIMD) {
      const lanes = i32x4(0, <i32>GOLDEN, <i32>(GOLDEN * 2), <i32>(GOLDEN * 3));
      let ctrA = i32x4.add(i32x4.splat(keyA), lanes);
      let ctrB = i32x4.add(i32x4.splat(keyB), lanes);
      const step = i32x4.splat(GOLDEN * 4);
      let acc = i32x4.splat(0);
      let weight = weightsFrom(firstWord);
      const eight = i32x4.splat(8);
      const vectors = cols & ~3;
      if (wordsPerValue == 1) {
        for (; c < vectors; c += 4) {
          const a = valuesOf<T>(mix32x4(ctrA));
          const b = valuesOf<T>(mix32x4(ctrB));
          ctrA = i32x4.add(ctrA, step);
          ctrB = i32x4.add(ctrB, step);
          const v = vectorOp<T>(op, a, b);
          v128.store(rowPtr + <usize>c * size, v);
          acc = i32x4.add(acc, i32x4.mul(v, weight));
          weight = i32x4.add(weight, eight);
        }
      } else {
        for (; c < vectors; c += 4) {
          const a0 = mix32x4(ctrA), b0 = mix32x4(ctrB);
          ctrA = i32x4.add(ctrA, step);
          ctrB = i32x4.add(ctrB, step);
          const a1 = mix32x4(ctrA), b1 = mix32x4(ctrB);
          ctrA = i32x4.add(ctrA, step);
          ctrB = i32x4.add(ctrB, step);
          const v0 = vectorOp<f64>(op, float64sLow(a0, a1), float64sLow(b0, b1));
          const v1 = vectorOp<f64>(op, float64sHigh(a0, a1), float64sHigh(b0, b1));
          v128.store(rowPtr + <usize>c * 8, v0, 0);
          v128.store(rowPtr + <usize>c * 8, v1, 16);
          acc = i32x4.add(acc, i32x4.mul(v0, weight));
          weight = i32x4.add(weight, eight);
          acc = i32x4.add(acc, i32x4.mul(v1, weight));
          weight = i32x4.add(weight, eight);
        }
      }
      sum += horizontalSum(acc);
    }
    for (; c < cols; c++) {
      const p = rowPtr + <usize>c * size;
      const k = firstWord + c * wordsPerValue;
      if (isInteger<T>()) {
        const v = scalarOp<i32>(op, toInt32(mix32(keyA + GOLDEN * c)), toInt32(mix32(keyB + GOLDEN * c)));
        store<i32>(p, v);
        sum += <u32>v * (2 * k + 1);
      } else if (size == 4) {
        const v = scalarOp<f32>(op, toFloat32(mix32(keyA + GOLDEN * c)), toFloat32(mix32(keyB + GOLDEN * c)));
        store<f32>(p, v);
        sum += reinterpret<u32>(v) * (2 * k + 1);
      } else {
        const a = toFloat64(mix32(keyA + GOLDEN * (2 * c)), mix32(keyA + GOLDEN * (2 * c + 1)));
        const b = toFloat64(mix32(keyB + GOLDEN * (2 * c)), mix32(keyB + GOLDEN * (2 * c + 1)));
        const v = scalarOp<f64>(op, a, b);
        store<f64>(p, v);
        const bits = reinterpret<u64>(v);
        sum += <u32>bits * (2 * k + 1) + <u32>(bits >>> 32) * (2 * k + 3);
      }
    }
  }
  return sum;
}

// ---------------------------------------------------------------------------
// Exports: one line per (operation, dtype). Pointers are byte addresses, counts
// are elements.

export function add_i32(a: usize, b: usize, out: usize, count: usize): void { binary<i32>(OP_ADD, a, b, out, count); }
export function add_f32(a: usize, b: usize, out: usize, count: usize): void { binary<f32>(OP_ADD, a, b, out, count); }
export function add_f64(a: usize, b: usize, out: usize, count: usize): void { binary<f64>(OP_ADD, a, b, out, count); }
export function sub_i32(a: usize, b: usize, out: usize, count: usize): void { binary<i32>(OP_SUB, a, b, out, count); }
export function sub_f32(a: usize, b: usize, out: usize, count: usize): void { binary<f32>(OP_SUB, a, b, out, count); }
export function sub_f64(a: usize, b: usize, out: usize, count: usize): void { binary<f64>(OP_SUB, a, b, out, count); }
export function mul_i32(a: usize, b: usize, out: usize, count: usize): void { binary<i32>(OP_MUL, a, b, out, count); }
export function mul_f32(a: usize, b: usize, out: usize, count: usize): void { binary<f32>(OP_MUL, a, b, out, count); }
export function mul_f64(a: usize, b: usize, out: usize, count: usize): void { binary<f64>(OP_MUL, a, b, out, count); }

// The same, fused with the checksum of out (its terms from word number firstWord).
export function add_checksum_i32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<i32>(OP_ADD, a, b, out, count, firstWord); }
export function add_checksum_f32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f32>(OP_ADD, a, b, out, count, firstWord); }
export function add_checksum_f64(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f64>(OP_ADD, a, b, out, count, firstWord); }
export function sub_checksum_i32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<i32>(OP_SUB, a, b, out, count, firstWord); }
export function sub_checksum_f32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f32>(OP_SUB, a, b, out, count, firstWord); }
export function sub_checksum_f64(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f64>(OP_SUB, a, b, out, count, firstWord); }
export function mul_checksum_i32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<i32>(OP_MUL, a, b, out, count, firstWord); }
export function mul_checksum_f32(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f32>(OP_MUL, a, b, out, count, firstWord); }
export function mul_checksum_f64(a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 { return binaryChecksum<f64>(OP_MUL, a, b, out, count, firstWord); }

export function fill_i32(ptr: usize, cols: u32, firstRow: u32, rows: u32, seed: u32, matrix: u32): void { fillRandom<i32>(ptr, cols, firstRow, rows, seed, matrix); }
export function fill_f32(ptr: usize, cols: u32, firstRow: u32, rows: u32, seed: u32, matrix: u32): void { fillRandom<f32>(ptr, cols, firstRow, rows, seed, matrix); }
export function fill_f64(ptr: usize, cols: u32, firstRow: u32, rows: u32, seed: u32, matrix: u32): void { fillRandom<f64>(ptr, cols, firstRow, rows, seed, matrix); }

export function random_add_i32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<i32>(OP_ADD, out, cols, firstRow, rows, seed); }
export function random_add_f32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f32>(OP_ADD, out, cols, firstRow, rows, seed); }
export function random_add_f64(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f64>(OP_ADD, out, cols, firstRow, rows, seed); }
export function random_sub_i32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<i32>(OP_SUB, out, cols, firstRow, rows, seed); }
export function random_sub_f32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f32>(OP_SUB, out, cols, firstRow, rows, seed); }
export function random_sub_f64(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f64>(OP_SUB, out, cols, firstRow, rows, seed); }
export function random_mul_i32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<i32>(OP_MUL, out, cols, firstRow, rows, seed); }
export function random_mul_f32(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f32>(OP_MUL, out, cols, firstRow, rows, seed); }
export function random_mul_f64(out: usize, cols: u32, firstRow: u32, rows: u32, seed: u32): u32 { return randomBinary<f64>(OP_MUL, out, cols, firstRow, rows, seed); }

/** 1 when this module was built with SIMD, 0 for the scalar fallback. */
export function simd(): i32 { return ASC_FEATURE_SIMD ? 1 : 0; }

