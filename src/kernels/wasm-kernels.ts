// The AssemblyScript kernels, compiled once per process and instantiated per
// thread over a caller-provided shared memory (no loader, no bindings: the
// kernels take byte offsets, so nothing is copied in or out).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR } from '../paths.js';
import { DTYPES, ELEMENTWISE_OPS, type Dtype, type ElementwiseOp } from '../vocabulary.js';
import type { Kernels } from './kernels.js';

export const SIMD_WASM = join(BUILD_DIR, 'wasmatrix.wasm');
export const SCALAR_WASM = join(BUILD_DIR, 'wasmatrix.scalar.wasm');

export interface CompiledKernels {
  module: WebAssembly.Module;
  /** True when the v128 SIMD build is in use. */
  simd: boolean;
}

let compiled: CompiledKernels | undefined;

/**
 * Compiles the kernels once per process (workers receive the Module through
 * workerData instead). The SIMD build is used unless the engine cannot validate
 * it or WASMATRIX_SIMD=0 asks for the scalar fallback.
 */
export function compileKernels(): CompiledKernels {
  if (compiled) return compiled;
  let bytes: Buffer<ArrayBuffer>;
  try {
    bytes = readFileSync(SIMD_WASM) as Buffer<ArrayBuffer>;
  } catch {
    throw new Error(`WebAssembly kernels not built: ${SIMD_WASM} is missing. Run \`npm run asbuild\`.`);
  }
  const wantSimd = process.env.WASMATRIX_SIMD !== '0';
  if (!wantSimd || !WebAssembly.validate(bytes)) {
    compiled = { module: new WebAssembly.Module(readFileSync(SCALAR_WASM) as Buffer<ArrayBuffer>), simd: false };
  } else {
    compiled = { module: new WebAssembly.Module(bytes), simd: true };
  }
  return compiled;
}

interface KernelExports {
  checksum(ptr: number, words: number, firstWord: number): number;
  rowKey(seed: number, matrix: number, row: number): number;
  simd(): number;
  matmul_scratch_bytes(elementBytes: number, k: number, n: number): number;
  [name: string]: (...args: number[]) => number | void;
}

type BinaryFn = (a: number, b: number, out: number, count: number) => void;
type BinaryChecksumFn = (a: number, b: number, out: number, count: number, firstWord: number) => number;
type RandomBinaryFn = (out: number, cols: number, firstRow: number, rows: number, seed: number) => number;
type FillFn = (ptr: number, cols: number, firstRow: number, rows: number, seed: number, matrix: number) => void;
type MatmulFn = (a: number, b: number, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number) => number;
type RandomMatmulFn = (c: number, scratch: number, rows: number, k: number, n: number, firstRow: number, seed: number) => number;
const SUFFIX: Record<Dtype, string> = { int32: 'i32', float32: 'f32', float64: 'f64' };

/** An empty table of kernel exports by op, then dtype (filled by the constructor). */
function perOp<F>(): Record<ElementwiseOp, Record<Dtype, F>> {
  return Object.fromEntries(ELEMENTWISE_OPS.map((op) => [op, {}])) as Record<ElementwiseOp, Record<Dtype, F>>;
}

export class WasmKernels implements Kernels {
  readonly kind = 'wasm' as const;
  readonly memory: WebAssembly.Memory;
  readonly simd: boolean;
  readonly #exports: KernelExports;
  // by op, then dtype: no key string is made per call
  readonly #binary = perOp<BinaryFn>();
  readonly #binaryChecksum = perOp<BinaryChecksumFn>();
  readonly #randomBinary = perOp<RandomBinaryFn>();
  readonly #fill = {} as Record<Dtype, FillFn>;
  readonly #matmul = {} as Record<Dtype, MatmulFn>;
  readonly #randomMatmul = {} as Record<Dtype, RandomMatmulFn>;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory) {
    this.memory = memory;
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.#exports = instance.exports as unknown as KernelExports;
    this.simd = this.#exports.simd() === 1;
    for (const dtype of DTYPES) {
      for (const op of ELEMENTWISE_OPS) {
        this.#binary[op][dtype] = this.#export<BinaryFn>(`${op}_${SUFFIX[dtype]}`);
        this.#binaryChecksum[op][dtype] = this.#export<BinaryChecksumFn>(`${op}_checksum_${SUFFIX[dtype]}`);
        this.#randomBinary[op][dtype] = this.#export<RandomBinaryFn>(`random_${op}_${SUFFIX[dtype]}`);
      }
      this.#fill[dtype] = this.#export<FillFn>(`fill_${SUFFIX[dtype]}`);
      this.#matmul[dtype] = this.#export<MatmulFn>(`matmul_${SUFFIX[dtype]}`);
      this.#randomMatmul[dtype] = this.#export<RandomMatmulFn>(`random_matmul_${SUFFIX[dtype]}`);
    }
  }

  /** An export the kernel lists promise: a missing one is a build that does not match them. */
  #export<F>(name: string): F {
    const f = this.#exports[name];
    if (typeof f !== 'function') throw new Error(`the WebAssembly kernels have no export ${name}: rebuild them (npm run asbuild)`);
    return f as F;
  }

  binary(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number): void {
    this.#binary[op][dtype](a, b, out, count);
  }

  binaryChecksum(op: ElementwiseOp, dtype: Dtype, a: number, b: number, out: number, count: number, firstWord: number): number {
    return this.#binaryChecksum[op][dtype](a, b, out, count, firstWord) >>> 0;
  }

  fill(dtype: Dtype, ptr: number, cols: number, firstRow: number, rows: number, seed: number, matrix: number): void {
    this.#fill[dtype](ptr, cols, firstRow, rows, seed, matrix);
  }

  randomBinary(op: ElementwiseOp, dtype: Dtype, out: number, cols: number, firstRow: number, rows: number, seed: number): number {
    return this.#randomBinary[op][dtype](out, cols, firstRow, rows, seed) >>> 0;
  }

  checksum(ptr: number, words: number, firstWord: number): number {
    return this.#exports.checksum(ptr, words, firstWord) >>> 0;
  }

  matmul(dtype: Dtype, a: number, b: number, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number): number {
    return this.#matmul[dtype](a, b, c, scratch, rows, k, n, firstRow) >>> 0;
  }

  randomMatmul(dtype: Dtype, c: number, scratch: number, rows: number, k: number, n: number, firstRow: number, seed: number): number {
    return this.#randomMatmul[dtype](c, scratch, rows, k, n, firstRow, seed) >>> 0;
  }

  /** The kernel's own scratch size for one matmul band (tests pin matmulScratchBytes to it). */
  matmulScratchBytes(elementBytes: number, k: number, n: number): number {
    return this.#exports.matmul_scratch_bytes(elementBytes, k, n) >>> 0;
  }

  rowKey(seed: number, matrix: number, row: number): number {
    return this.#exports.rowKey(seed, matrix, row) >>> 0;
  }
}
