// Matrices as JSON: `{"a": [[...], ...], "b": [[...], ...], "dtype": "float64"}`
// in, `[[...], ...]` out. Every element is checked (a finite number that fits
// the dtype); nothing is rounded to an integer, clamped or coerced. The only
// per-element allocations are JSON.parse's own; elements are copied straight
// into typed arrays, and results are written by typed-array join per row.

import { errors } from '../errors.js';
import { DTYPES, type Dtype, type MatrixArray } from '../kernels/dtype.js';
import type { Geometry, Operation } from '../ops/index.js';

export interface MatrixPair {
  dtype: Dtype;
  /** The job's geometry, from the operation (422 when A and B do not fit it). */
  geometry: Geometry;
  a: MatrixArray;
  b: MatrixArray;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates a POST /<op> JSON body. 400: not JSON; 413: over maxN; 422: not a valid pair for `op`. */
export function parseJsonMatrices(body: Uint8Array, maxN: number, op: Operation): MatrixPair {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(body));
  } catch (e) {
    const why = e instanceof RangeError ? 'nested too deeply' : e instanceof TypeError ? 'not valid UTF-8' : (e as Error).message;
    throw errors.malformedBody(`the body is not valid JSON: ${why}`, { param: 'body' });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw errors.invalidMatrix('the body must be a JSON object with "a" and "b"', { param: 'body' });
  }
  const { a, b, dtype } = doc as { a?: unknown; b?: unknown; dtype?: unknown };
  if (dtype !== undefined && (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype))) {
    throw errors.badParameter(`dtype must be one of ${DTYPES.join(', ')}`, { param: 'dtype' });
  }
  const shapeA = shapeOf(a, 'a', maxN);
  const shapeB = shapeOf(b, 'b', maxN);
  const geometry = op.geometryOf(shapeA, shapeB);
  const va = toFloat64(a as unknown[][], 'a', shapeA.cols);
  const vb = toFloat64(b as unknown[][], 'b', shapeB.cols);
  const resolved: Dtype = (dtype as Dtype | undefined) ?? (va.allInt32 && vb.allInt32 ? 'int32' : 'float64');
  return { dtype: resolved, geometry, a: convert(va.values, resolved, 'a', shapeA.cols), b: convert(vb.values, resolved, 'b', shapeB.cols) };
}

function shapeOf(m: unknown, name: string, maxN: number): { rows: number; cols: number } {
  if (!Array.isArray(m) || m.length === 0) throw errors.invalidMatrix(`${name} must be a non-empty array of rows`, { param: name });
  const rows = m.length;
  const first: unknown = m[0];
  if (!Array.isArray(first) || first.length === 0) throw errors.invalidMatrix(`${name}[0] must be a non-empty array of numbers`, { param: name, element: `${name}[0]` });
  const cols = first.length;
  if (rows > maxN || cols > maxN) throw errors.shapeTooLarge(`${name} is ${rows}x${cols}; the limit is ${maxN} (--max-n)`, { param: name });
  for (let i = 1; i < rows; i++) {
    const row: unknown = m[i];
    if (!Array.isArray(row) || row.length !== cols) {
      throw errors.invalidMatrix(`${name}[${i}] must be an array of ${cols} numbers like ${name}[0] (ragged rows)`, { param: name, element: `${name}[${i}]` });
    }
  }
  return { rows, cols };
}

/** Copies the elements into a Float64Array, checking each is a finite number. */
function toFloat64(m: unknown[][], name: string, cols: number): { values: Float64Array; allInt32: boolean } {
  const values = new Float64Array(m.length * cols);
  let allInt32 = true;
  let k = 0;
  for (let i = 0; i < m.length; i++) {
    const row = m[i]!;
    for (let j = 0; j < cols; j++) {
      const v = row[j];
      // typeof rules out strings, null, booleans and nested arrays; v - v rules out NaN and ±Infinity (1e400)
      if (typeof v !== 'number' || v - v !== 0) {
        throw errors.invalidMatrix(`${name}[${i}][${j}] must be a finite number (got ${describe(v)})`, { param: name, element: `${name}[${i}][${j}]` });
      }
      if (allInt32 && ((v | 0) !== v || (v === 0 && 1 / v < 0))) allInt32 = false; // -0 is not an int32
      values[k++] = v;
    }
  }
  return { values, allInt32 };
}

/** The values as `dtype`, after checking each fits it exactly (int32) or in range (float32). */
function convert(values: Float64Array, dtype: Dtype, name: string, cols: number): MatrixArray {
  if (dtype === 'float64') return values;
  const fits = dtype === 'int32' ? (v: number) => Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX : (v: number) => Number.isFinite(Math.fround(v));
  for (let k = 0; k < values.length; k++) {
    if (!fits(values[k]!)) {
      const element = `${name}[${Math.floor(k / cols)}][${k % cols}]`;
      throw errors.invalidMatrix(`${element} = ${values[k]} does not fit ${dtype}`, { param: name, element });
    }
  }
  const out = dtype === 'int32' ? new Int32Array(values.length) : new Float32Array(values.length);
  out.set(values);
  return out;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  return v === null ? 'null' : `a ${typeof v}`;
}

/** The first element of a float result that JSON cannot carry (NaN, ±Infinity), as "result[i][j]"; undefined if none. */
export function firstNonFinite(out: MatrixArray, cols: number): string | undefined {
  if (out instanceof Int32Array) return undefined;
  for (let k = 0; k < out.length; k++) {
    const v = out[k]!;
    if (v - v !== 0) return `result[${Math.floor(k / cols)}][${k % cols}]`;
  }
  return undefined;
}

/** Rows of a row-major matrix as JSON text, about `chunkChars` characters per chunk. */
export function* matrixJsonChunks(out: MatrixArray, rows: number, cols: number, chunkChars = 64 * 1024): Generator<string> {
  let chunk = '[';
  for (let i = 0; i < rows; i++) {
    chunk += (i === 0 ? '[' : ',[') + out.subarray(i * cols, (i + 1) * cols).join(',') + ']';
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk + ']';
}
