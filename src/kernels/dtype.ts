// Element types and the small tables that map a dtype to its typed array and
// size (the lists themselves are in src/vocabulary.ts).

import type { Dtype } from '../vocabulary.js';

export { DTYPES, ELEMENTWISE_OPS, OPS, isDtype, isOp, type Dtype, type ElementwiseOp, type Op } from '../vocabulary.js';

export type TypedArrayOf<D extends Dtype> = D extends 'int32'
  ? Int32Array
  : D extends 'float32'
    ? Float32Array
    : Float64Array;
export type MatrixArray = Int32Array | Float32Array | Float64Array;

/** Bytes per element. */
export const ELEMENT_BYTES: Record<Dtype, number> = { int32: 4, float32: 4, float64: 8 };

export const ARRAY_OF: {
  [D in Dtype]: { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): TypedArrayOf<D>; new (length: number): TypedArrayOf<D> };
} = { int32: Int32Array, float32: Float32Array, float64: Float64Array };

/** A view of `length` elements of `dtype` at `byteOffset` of `buffer` (no copy). */
export function viewOf(dtype: Dtype, buffer: ArrayBufferLike, byteOffset: number, length: number): MatrixArray {
  return new ARRAY_OF[dtype](buffer, byteOffset, length);
}

/** The dtype of a typed array, or undefined for any other kind of array. */
export function dtypeOf(a: ArrayBufferView): Dtype | undefined {
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return undefined;
}
