// The element-wise operations on caller data: out = a op b, bare (binary) and
// fused with the checksum of out in the same pass (binaryChecksum). One
// generic loop per shape, specialised per dtype and operation by the exports
// in kernels.ts: no copy-paste families. The random kernels (kernels.ts)
// share scalarOp and vectorOp.

import { blockTerms, BLOCK_WORDS, horizontalSum, weightsFrom } from './checksum';

export const OP_ADD: i32 = 0;
export const OP_SUB: i32 = 1;
export const OP_MUL: i32 = 2;

// @ts-ignore: decorator
@inline export function scalarOp<T>(op: i32, x: T, y: T): T {
  if (op == OP_ADD) return x + y;
  if (op == OP_SUB) return x - y;
  return x * y;
}

// @ts-ignore: decorator
@inline export function vectorOp<T>(op: i32, x: v128, y: v128): v128 {
  if (op == OP_ADD) return v128.add<T>(x, y);
  if (op == OP_SUB) return v128.sub<T>(x, y);
  return v128.mul<T>(x, y);
}

/** out[i] = a[i] op b[i] for i in [0, count). Integers wrap (two's complement). */
// @ts-ignore: decorator
@inline export function binary<T>(op: i32, a: usize, b: usize, out: usize, count: usize): void {
  const size = sizeof<T>();
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const perBlock: usize = 64 / size; // four v128 registers
    const blocks = count - count % perBlock;
    for (; i < blocks; i += perBlock) {
      const o = i * size;
      const x0 = v128.load(a + o, 0), y0 = v128.load(b + o, 0);
      const x1 = v128.load(a + o, 16), y1 = v128.load(b + o, 16);
      const x2 = v128.load(a + o, 32), y2 = v128.load(b + o, 32);
      const x3 = v128.load(a + o, 48), y3 = v128.load(b + o, 48);
      v128.store(out + o, vectorOp<T>(op, x0, y0), 0);
      v128.store(out + o, vectorOp<T>(op, x1, y1), 16);
      v128.store(out + o, vectorOp<T>(op, x2, y2), 32);
      v128.store(out + o, vectorOp<T>(op, x3, y3), 48);
    }
    const perVector: usize = 16 / size;
    const vectors = count - count % perVector;
    for (; i < vectors; i += perVector) {
      const o = i * size;
      v128.store(out + o, vectorOp<T>(op, v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < count; i++) {
    const o = i * size;
    store<T>(out + o, scalarOp<T>(op, load<T>(a + o), load<T>(b + o)));
  }
}

/**
 * A data band in one pass: out[i] = a[i] op b[i] for i in [0, count), and the
 * checksum terms of out's words (checksum.ts), the first being word number
 * firstWord. The same bytes as binary() and the same sum as checksum() over
 * them afterwards; out is written once and never read back.
 *
 * The SIMD main loop takes blocks of eight vectors and keeps running sums
 * instead of multiplying every vector by its weights (blockTerms in
 * checksum.ts): two integer adds per vector, no multiply, so in L1 it keeps
 * pace with binary(); then at most seven single vectors with their weights
 * multiplied in, then a scalar tail (the scalar build's whole loop).
 */
// @ts-ignore: decorator
@inline export function binaryChecksum<T>(op: i32, a: usize, b: usize, out: usize, count: usize, firstWord: u32): u32 {
  const size = sizeof<T>();
  const wordsPerValue: u32 = <u32>size >> 2; // 1, or 2 for float64
  let i: usize = 0;
  let sum: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const perBlock: usize = 128 / size; // eight v128 registers, BLOCK_WORDS words
    const blocks = count / perBlock;
    // running sums over the blocks (checksum.ts, blockTerms): s of every vector, f of s after
    // each block, and q0, q1, q2 of the vectors whose position in the block has bit 0, 1, 2 set
    let s = i32x4.splat(0), f = i32x4.splat(0);
    let q0 = i32x4.splat(0), q1 = i32x4.splat(0), q2 = i32x4.splat(0);
    const end = blocks * perBlock;
    for (; i < end; i += perBlock) {
      const o = i * size;
      const v0 = vectorOp<T>(op, v128.load(a + o, 0), v128.load(b + o, 0));
      const v1 = vectorOp<T>(op, v128.load(a + o, 16), v128.load(b + o, 16));
      v128.store(out + o, v0, 0);
      v128.store(out + o, v1, 16);
      const v2 = vectorOp<T>(op, v128.load(a + o, 32), v128.load(b + o, 32));
      const v3 = vectorOp<T>(op, v128.load(a + o, 48), v128.load(b + o, 48));
      v128.store(out + o, v2, 32);
      v128.store(out + o, v3, 48);
      const v4 = vectorOp<T>(op, v128.load(a + o, 64), v128.load(b + o, 64));
      const v5 = vectorOp<T>(op, v128.load(a + o, 80), v128.load(b + o, 80));
      v128.store(out + o, v4, 64);
      v128.store(out + o, v5, 80);
      const v6 = vectorOp<T>(op, v128.load(a + o, 96), v128.load(b + o, 96));
      const v7 = vectorOp<T>(op, v128.load(a + o, 112), v128.load(b + o, 112));
      v128.store(out + o, v6, 96);
      v128.store(out + o, v7, 112);
      // a pairwise tree: sixteen adds for eight vectors, no multiply
      q0 = i32x4.add(q0, i32x4.add(i32x4.add(v1, v3), i32x4.add(v5, v7)));
      const p1 = i32x4.add(v2, v3), p3 = i32x4.add(v6, v7);
      q1 = i32x4.add(q1, i32x4.add(p1, p3));
      const h1 = i32x4.add(i32x4.add(v4, v5), p3);
      q2 = i32x4.add(q2, h1);
      s = i32x4.add(s, i32x4.add(i32x4.add(i32x4.add(v0, v1), p1), h1));
      f = i32x4.add(f, s);
    }
    sum = blockTerms(s, f, q0, q1, q2, <u32>blocks, firstWord);
    // at most seven single vectors, weighted directly
    const perVector: usize = 16 / size;
    const vectors = count - count % perVector;
    let acc = i32x4.splat(0);
    let weight = weightsFrom(firstWord + <u32>blocks * BLOCK_WORDS);
    const eight = i32x4.splat(8);
    for (; i < vectors; i += perVector) {
      const o = i * size;
      const v = vectorOp<T>(op, v128.load(a + o), v128.load(b + o));
      v128.store(out + o, v);
      acc = i32x4.add(acc, i32x4.mul(v, weight));
      weight = i32x4.add(weight, eight);
    }
    sum += horizontalSum(acc);
  }
  // the tail (the scalar build's whole loop), by running sums over its words w[j]
  // from word k0, j < words: ws = sum of w[j], wf = sum of ws after each word
  // = sum of (words - j) w[j], so its terms sum of (2 (k0 + j) + 1) w[j] are
  // (2 k0 + 1 + 2 words) ws - 2 wf (mod 2^32)
  const k0 = firstWord + <u32>i * wordsPerValue;
  const words = <u32>(count - i) * wordsPerValue;
  let ws: u32 = 0, wf: u32 = 0;
  for (; i < count; i++) {
    const o = i * size;
    const v = scalarOp<T>(op, load<T>(a + o), load<T>(b + o));
    store<T>(out + o, v);
    if (isInteger<T>()) {
      ws += <u32>v;
      wf += ws;
    } else if (size == 4) {
      ws += reinterpret<u32>(<f32>v);
      wf += ws;
    } else {
      const bits = reinterpret<u64>(<f64>v);
      ws += <u32>bits;
      wf += ws;
      ws += <u32>(bits >>> 32);
      wf += ws;
    }
  }
  sum += (2 * k0 + 1 + 2 * words) * ws - 2 * wf;
  return sum;
}
