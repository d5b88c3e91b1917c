// The pure-TypeScript baseline: the same semantics as the WASM kernels (same
// generator, same int32 wrap-around, same float rounding, same checksum),
// written as a strong TypeScript developer would: typed-array views, tight
// counted loops, Math.imul for 32-bit products, no per-element allocation.

import type { Dtype, ElementwiseOp } from '../vocabulary.js';
import { fillRow, GOLDEN, mix32, rowKey } from './generator.js';
import type { Kernels } from './kernels.js';
import { matmulBandTs, randomMatmulBandTs } from './ts-matmul.js';

type Views = { i32: Int32Array; f32: Float32Array; f64: Float64Array; u32: Uint32Array };
type MatrixView = Int32Array | Float32Array | Float64Array;
type BinaryLoop = (x: MatrixView, y: MatrixView, out: MatrixView, n: number) => void;

// Each (op, dtype) gets its own compiled loop so that V8 sees one element kind
// per loop (monomorphic, as a hand-written loop per type would be) while the
// loop body is written once. Storing into an Int32Array wraps like two's
// complement; storing into a Float32Array rounds to float32 (exactly as an f32
// operation would: double rounding is innocuous for +, -, *). int32 products
// need Math.imul because a double product loses the low bits.
const EXPRESSION: Record<ElementwiseOp, (dtype: Dtype) => string> = {
  add: () => 'x[i] + y[i]',
  sub: () => 'x[i] - y[i]',
  mul: (dtype) => (dtype === 'int32' ? 'Math.imul(x[i], y[i])' : 'x[i] * y[i]'),
};

function compileLoop(op: ElementwiseOp, dtype: Dtype): BinaryLoop {
  return new Function('x', 'y', 'out', 'n', `for (let i = 0; i < n; i++) out[i] = ${EXPRESSION[op](dtype)};`) as BinaryLoop;
}

/** Compiles each (op, dtype) loop once, on first use; looked up by op, then dtype (no key string made per call). */
function perOpAndDtype<L>(compile: (op: ElementwiseOp, dtype: Dtype) => L): (op: ElementwiseOp, dtype: Dtype) => L {
  const loops = {} as Record<ElementwiseOp, Partial<Record<Dtype, L>>>;
  return (op, dtype) => ((loops[op] ??= {})[dtype] ??= compile(op, dtype));
}

const loopFor = perOpAndDtype(compileLoop);

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

  binary(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number): void {
    // subarrays whose length is the loop bound: V8 drops most bounds checks (measured ~15% faster than offsets)
    const arr = this.#typed(dtype);
    const shift = dtype === 'float64' ? 3 : 2;
    const at = (ptr: number) => arr.subarray(ptr >>> shift, (ptr >>> shift) + count);
    loopFor(op, dtype)(at(a), at(b), at(out), count);
  }

  binaryChecksum(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number, firstWord: number): number {
    const arr = this.#typed(dtype);
    const shift = dtype === 'float64' ? 3 : 2;
    const at = (ptr: number) => arr.subarray(ptr >>> shift, (ptr >>> shift) + count);
    const words = this.#v().u32.subarray(out >>> 2, (out >>> 2) + count * (dtype === 'float64' ? 2 : 1));
    return fusedLoopFor(op, dtype)(at(a), at(b), at(out), words, count, firstWord) >>> 0;
  }

  fill(dtype: Dtype, ptr: number, cols: number, firstRow: number, rows: number, seed: number, matrix: number): void {
    const v = this.#v();
    const arr = dtype === 'int32' ? v.i32 : dtype === 'float32' ? v.f32 : v.f64;
    const at = ptr >>> (dtype === 'float64' ? 3 : 2);
    for (let r = 0; r < rows; r++) fillRow(dtype, arr, at + r * cols, cols, rowKey(seed, matrix, firstRow + r), 0);
  }

  randomBinary(op: ElementwiseOp, dtype: Dtype, out: number, cols: number, firstRow: number, rows: number, seed: number): number {
    const v = this.#v();
    const loop = randomLoopFor(op, dtype);
    const arr = this.#typed(dtype);
    const shift = dtype === 'float64' ? 3 : 2;
    const wordsPerValue = dtype === 'float64' ? 2 : 1;
    let sum = 0;
    for (let r = 0; r < rows; r++) {
      const row = firstRow + r;
      const at = (out >>> shift) + r * cols;
      sum = (sum + loop(arr, v.u32, at, cols, rowKey(seed, 0, row), rowKey(seed, 1, row), row * cols * wordsPerValue)) | 0;
    }
    return sum >>> 0;
  }

  matmul(dtype: Dtype, a: number, b: number, c: number, _scratch: number, rows: number, k: number, n: number, firstRow: number): number {
    const shift = dtype === 'float64' ? 3 : 2;
    matmulBandTs(dtype, { arr: this.#typed(dtype), u32: this.#v().u32 }, a >>> shift, b >>> shift, c >>> shift, { rows, k, n, firstRow });
    return this.#bandChecksum(dtype, c, rows, n, firstRow);
  }

  randomMatmul(dtype: Dtype, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number, seed: number): number {
    const shift = dtype === 'float64' ? 3 : 2;
    randomMatmulBandTs(dtype, { arr: this.#typed(dtype), u32: this.#v().u32 }, c >>> shift, scratch >>> shift, { rows, k, n, firstRow }, seed);
    return this.#bandChecksum(dtype, c, rows, n, firstRow);
  }

  /** The checksum part of a band of `rows` rows of n values from firstRow, at byte offset c. */
  #bandChecksum(dtype: Dtype, c: number, rows: number, n: number, firstRow: number): number {
    const words = dtype === 'float64' ? 2 : 1;
    return this.checksum(c, rows * n * words, firstRow * n * words);
  }

  checksum(ptr: number, words: number, firstWord: number): number {
    const u32 = this.#v().u32;
    const base = ptr >>> 2;
    let sum = 0;
    let weight = (2 * firstWord + 1) | 0;
    for (let k = 0; k < words; k++) {
      sum = (sum + Math.imul(u32[base + k]!, weight)) | 0;
      weight = (weight + 2) | 0;
    }
    return sum >>> 0;
  }
}

// The lab's job fused in one loop per (op, dtype), as a TS developer who cared
// would write it: A and B values are drawn into locals and never stored, the
// result is written once and checksummed in the same pass (reading its bits
// back through a Uint32Array view of the same memory for floats). Generated
// from one template, like the binary loops above.
type RandomLoop = (out: MatrixView, u32: Uint32Array, at: number, cols: number, keyA: number, keyB: number, firstWord: number) => number;

const DRAW: Record<Dtype, (ctr: string) => string> = {
  int32: (ctr) => `Math.imul(mix32(${ctr}) >>> 8, 100) >>> 24`,
  float32: (ctr) => `(mix32(${ctr}) >>> 8) * 5.9604644775390625e-8`,
  float64: (ctr) => `((mix32(${ctr}) >>> 0) * 2097152 + (mix32((${ctr} + GOLDEN) | 0) >>> 11)) * 1.1102230246251565e-16`,
};

const CHECK: Record<Dtype, string> = {
  int32: 'sum = (sum + Math.imul(out[i], weight)) | 0; weight = (weight + 2) | 0;',
  float32: 'sum = (sum + Math.imul(u32[i], weight)) | 0; weight = (weight + 2) | 0;',
  float64:
    'sum = (sum + Math.imul(u32[2 * i], weight) + Math.imul(u32[2 * i + 1], (weight + 2) | 0)) | 0; weight = (weight + 4) | 0;',
};

function compileRandomLoop(op: ElementwiseOp, dtype: Dtype): RandomLoop {
  const step = dtype === 'float64' ? '(GOLDEN + GOLDEN) | 0' : 'GOLDEN';
  const value = EXPRESSION[op](dtype).replaceAll('x[i]', 'a').replaceAll('y[i]', 'b');
  const body = `
    return function randomLoop(out, u32, at, cols, keyA, keyB, firstWord) {
      let ctrA = keyA | 0, ctrB = keyB | 0, sum = 0, weight = (2 * firstWord + 1) | 0;
      const stepCtr = ${step};
      for (let c = 0; c < cols; c++) {
        const a = ${DRAW[dtype]('ctrA')};
        const b = ${DRAW[dtype]('ctrB')};
        const i = at + c;
        out[i] = ${value};
        ${CHECK[dtype]}
        ctrA = (ctrA + stepCtr) | 0;
        ctrB = (ctrB + stepCtr) | 0;
      }
      return sum;
    };`;
  return new Function('mix32', 'GOLDEN', body)(mix32, GOLDEN) as RandomLoop;
}

const randomLoopFor = perOpAndDtype(compileRandomLoop);

// A data band in one pass over memory. int32: each value is checksummed from
// the local it was stored from. Floats need their bits, read back through
// `u32` (a Uint32Array view of out's bytes): reading each value back right
// after its store measured 1.6 to 3x slower than the bare loop in V8 (the load
// waits on the store), so the loop stores a chunk of CHUNK values and then
// checksums the chunk while it is still in L1 (no extra memory traffic).
type FusedLoop = (x: MatrixView, y: MatrixView, out: MatrixView, u32: Uint32Array, n: number, firstWord: number) => number;

/** Values stored before their chunk is checksummed: 4 KiB of float64, well inside L1. */
const CHUNK = 512;

function compileFusedLoop(op: ElementwiseOp, dtype: Dtype): FusedLoop {
  const words = dtype === 'float64' ? 2 : 1;
  const body =
    dtype === 'int32'
      ? `for (let i = 0; i < n; i++) {
          const v = (${EXPRESSION[op](dtype)}) | 0;
          out[i] = v;
          sum = (sum + Math.imul(v, weight)) | 0;
          weight = (weight + 2) | 0;
        }`
      : `for (let c = 0; c < n; c += ${CHUNK}) {
          const end = Math.min(n, c + ${CHUNK});
          for (let i = c; i < end; i++) out[i] = ${EXPRESSION[op](dtype)};
          for (let k = c * ${words}; k < end * ${words}; k++) {
            sum = (sum + Math.imul(u32[k], weight)) | 0;
            weight = (weight + 2) | 0;
          }
        }`;
  return new Function('x', 'y', 'out', 'u32', 'n', 'firstWord', `let sum = 0, weight = (2 * firstWord + 1) | 0;\n${body}\nreturn sum;`) as FusedLoop;
}

const fusedLoopFor = perOpAndDtype(compileFusedLoop);
