// The pure-TypeScript baseline: the same semantics as the WASM kernels (same
// generator, same int32 wrap-around, same float rounding, same checksum),
// written as a strong TypeScript developer would: typed-array views, tight
// counted loops, Math.imul for 32-bit products, no per-element allocation.

import type { Dtype, Op } from './dtype.js';
import { CHECK_STEP, GOLDEN, mix32, rowKey } from './generator.js';
import type { Kernels } from './kernels.js';

type Views = { i32: Int32Array; f32: Float32Array; f64: Float64Array; u32: Uint32Array };
type MatrixView = Int32Array | Float32Array | Float64Array;
type BinaryLoop = (x: MatrixView, y: MatrixView, out: MatrixView, n: number) => void;

// Each (op, dtype) gets its own compiled loop so that V8 sees one element kind
// per loop (monomorphic, as a hand-written loop per type would be) while the
// loop body is written once. Storing into an Int32Array wraps like two's
// complement; storing into a Float32Array rounds to float32 (exactly as an f32
// operation would: double rounding is innocuous for +, -, *). int32 products
// need Math.imul because a double product loses the low bits.
const EXPRESSION: Record<Op, (dtype: Dtype) => string> = {
  add: () => 'x[i] + y[i]',
  sub: () => 'x[i] - y[i]',
  mul: (dtype) => (dtype === 'int32' ? 'Math.imul(x[i], y[i])' : 'x[i] * y[i]'),
};

function compileLoop(op: Op, dtype: Dtype): BinaryLoop {
  return new Function('x', 'y', 'out', 'n', `for (let i = 0; i < n; i++) out[i] = ${EXPRESSION[op](dtype)};`) as BinaryLoop;
}

const LOOPS = new Map<string, BinaryLoop>();
function loopFor(op: Op, dtype: Dtype): BinaryLoop {
  const key = `${op}:${dtype}`;
  let loop = LOOPS.get(key);
  if (!loop) LOOPS.set(key, (loop = compileLoop(op, dtype)));
  return loop;
}

export class TsKernels implements Kernels {
  readonly kind = 'ts' as const;
  readonly memory: WebAssembly.Memory;
  #views: Views | undefined;
  #bytes = -1;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
  }

  /** Views over the current memory. Re-made after growth: a view never outlives a grow. */
  #v(): Views {
    const buffer = this.memory.buffer;
    if (buffer.byteLength !== this.#bytes || !this.#views) {
      this.#views = {
        i32: new Int32Array(buffer),
        f32: new Float32Array(buffer),
        f64: new Float64Array(buffer),
        u32: new Uint32Array(buffer),
      };
      this.#bytes = buffer.byteLength;
    }
    return this.#views;
  }

  #typed(dtype: Dtype): Int32Array | Float32Array | Float64Array {
    const v = this.#v();
    return dtype === 'int32' ? v.i32 : dtype === 'float32' ? v.f32 : v.f64;
  }

  binary(op: Op, dtype: Dtype, a: number, b: number, out: number, count: number): void {
    // subarrays whose length is the loop bound: V8 drops most bounds checks (measured ~15% faster than offsets)
    const arr = this.#typed(dtype);
    const shift = dtype === 'float64' ? 3 : 2;
    const at = (ptr: number) => arr.subarray(ptr >>> shift, (ptr >>> shift) + count);
    loopFor(op, dtype)(at(a), at(b), at(out), count);
  }

  fill(dtype: Dtype, ptr: number, cols: number, firstRow: number, rows: number, seed: number, matrix: number): void {
    const v = this.#v();
    for (let r = 0; r < rows; r++) {
      const key = rowKey(seed, matrix, firstRow + r);
      if (dtype === 'int32') fillInt32(v.i32, (ptr >>> 2) + r * cols, cols, key);
      else if (dtype === 'float32') fillFloat32(v.f32, (ptr >>> 2) + r * cols, cols, key);
      else fillFloat64(v.f64, (ptr >>> 3) + r * cols, cols, key);
    }
  }

  checksum(ptr: number, words: number, firstWord: number): number {
    const u32 = this.#v().u32;
    const base = ptr >>> 2;
    let sum = 0;
    let ctr = Math.imul(CHECK_STEP, firstWord);
    for (let k = 0; k < words; k++) {
      sum = (sum + mix32((u32[base + k]! + ctr) | 0)) | 0;
      ctr = (ctr + CHECK_STEP) | 0;
    }
    return sum >>> 0;
  }
}

// One row of each dtype. The counter advances by GOLDEN per word (a Weyl
// sequence), exactly as the SIMD kernel's lanes do.
function fillInt32(out: Int32Array, at: number, cols: number, key: number): void {
  let ctr = key | 0;
  for (let c = 0; c < cols; c++) {
    out[at + c] = Math.imul(mix32(ctr) >>> 8, 100) >>> 24;
    ctr = (ctr + GOLDEN) | 0;
  }
}

function fillFloat32(out: Float32Array, at: number, cols: number, key: number): void {
  let ctr = key | 0;
  for (let c = 0; c < cols; c++) {
    out[at + c] = (mix32(ctr) >>> 8) * 5.9604644775390625e-8;
    ctr = (ctr + GOLDEN) | 0;
  }
}

function fillFloat64(out: Float64Array, at: number, cols: number, key: number): void {
  let ctr = key | 0;
  for (let c = 0; c < cols; c++) {
    const hi = mix32(ctr) >>> 0;
    const lo = mix32((ctr + GOLDEN) | 0) >>> 11;
    out[at + c] = (hi * 2097152 + lo) * 1.1102230246251565e-16;
    ctr = (ctr + GOLDEN + GOLDEN) | 0;
  }
}
