// matmul's kernels: the WASM SIMD build, the WASM scalar build and the TS
// baseline give the same bits as a plain triple loop that follows the
// documented rounding order (docs/matmul.md), for every dtype and for odd,
// tall and wide shapes, over caller data and over seed-generated A and B;
// bands cut at odd rows combine to the whole matrix and its checksum; the
// kernels stay inside their scratch and their band; and NumPy agrees within
// the stated tolerance when it is installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findPythonWithNumpy, numpyMatmul } from '../bench/numpy.js';
import { ARRAY_OF, DTYPES, ELEMENT_BYTES, viewOf, type Dtype, type MatrixArray } from '../src/kernels/dtype.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { matmulScratchBytes, runMatmulBand } from '../src/kernels/matmul.js';
import { WasmKernels } from '../src/kernels/wasm-kernels.js';
import { bytesAt, kernelSets, xorshift } from './fixtures/kernel-sets.js';

const { arena, sets } = kernelSets();

/** [m, k, n]: tiny, around the 4 x 8 / 4 x 4 register tiles, past the blocks of k (512), A (32 rows) and B (1024 / 512 columns), tall, wide, empty k. */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 3, 1], [3, 1, 1], [1, 1, 3], [3, 1, 3], [1, 3, 5], [5, 17, 3], [17, 5, 17], [4, 8, 8], [4, 4, 4],
  [63, 65, 64], [65, 63, 65], [64, 64, 64], [300, 7, 5], [3, 7, 300], [5, 600, 9], [130, 300, 70], [2, 5, 4100], [3, 0, 4],
];

const CANONICAL_NAN = { float32: [0x7fc00000], float64: [0, 0x7ff80000] } as const;

// ---- the definition, independently: a plain triple loop ----------------------
/** C[i][j] = ((+0 + A[i][0]*B[0][j]) + A[i][1]*B[1][j]) + ..., one rounding per operation, int32 wrapping; NaN canonical. */
function reference(dtype: Dtype, a: MatrixArray, b: MatrixArray, m: number, k: number, n: number): Uint8Array {
  const c = new ARRAY_OF[dtype](m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const x = a[i * k + p]!;
        const y = b[p * n + j]!;
        if (dtype === 'int32') acc = (acc + Math.imul(x, y)) | 0;
        else if (dtype === 'float32') acc = Math.fround(acc + Math.fround(x * y));
        else acc = acc + x * y;
      }
      c[i * n + j] = acc;
    }
  const bytes = new Uint8Array(c.buffer);
  if (dtype !== 'int32') {
    const words = new Uint32Array(c.buffer);
    const per = dtype === 'float32' ? 1 : 2;
    for (let i = 0; i < m * n; i++) if (Number.isNaN(c[i]!)) words.set(CANONICAL_NAN[dtype], i * per);
  }
  return bytes;
}

/** The documented checksum of a result's bytes, in BigInt: sum of w[k] * (2k + 1) mod 2^32. */
function referenceChecksum(bytes: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  let sum = 0n;
  words.forEach((w, i) => (sum += BigInt(w) * (2n * BigInt(i) + 1n)));
  return Number(sum % 2n ** 32n);
}
// -----------------------------------------------------------------------------

/** Caller data of every magnitude: full-range int32 (products and sums wrap), floats from 2^-40 to 2^40 with both signs. */
function callerData(dtype: Dtype, count: number, seed: number): MatrixArray {
  const out = new ARRAY_OF[dtype](count);
  const rnd = xorshift(seed);
  for (let i = 0; i < count; i++) out[i] = dtype === 'int32' ? rnd() | 0 : (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 80) - 40);
  return out;
}

/** Moderate floats in [-1, 1) (for comparisons within a tolerance). */
function unitData(dtype: Dtype, count: number, seed: number): MatrixArray {
  const out = new ARRAY_OF[dtype](count);
  const rnd = xorshift(seed);
  for (let i = 0; i < count; i++) out[i] = dtype === 'int32' ? rnd() | 0 : rnd() / 2 ** 31 - 1;
  return out;
}

function typed(dtype: Dtype, values: number[]): MatrixArray {
  const out = new ARRAY_OF[dtype](values.length);
  out.set(values);
  return out;
}

const GUARD = 64;
const GUARD_BYTE = 0xa5;

/** A region of `bytes` bytes with GUARD bytes of GUARD_BYTE on both sides; returns the inner offset. */
function guarded(bytes: number): { at: number; check(what: string): void; free(): void } {
  const start = arena.alloc(bytes + 2 * GUARD);
  new Uint8Array(arena.memory.buffer, start, bytes + 2 * GUARD).fill(GUARD_BYTE);
  const intact = (off: number) => new Uint8Array(arena.memory.buffer, off, GUARD).every((x) => x === GUARD_BYTE);
  return {
    at: start + GUARD,
    check: (what) => assert.ok(intact(start) && intact(start + GUARD + bytes), `${what}: written outside its region`),
    free: () => arena.free(start),
  };
}

function placed(dtype: Dtype, values: MatrixArray): { at: number; free(): void } {
  const at = arena.alloc(Math.max(1, values.length * ELEMENT_BYTES[dtype]));
  viewOf(dtype, arena.memory.buffer, at, values.length).set(values);
  return { at, free: () => arena.free(at) };
}

/** Row boundaries of bands: one band, or cuts at odd rows. */
function cuts(m: number, split: boolean): number[] {
  if (!split) return [0, m];
  return [...new Set([0, 1, 4, 11, Math.floor(m / 2) + 1, m - 3, m])].filter((r) => r >= 0 && r <= m).sort((x, y) => x - y);
}

/**
 * Runs C = A x B with one kernel set, band by band (each with its own guarded
 * scratch), and returns C's bytes and the sum of the bands' checksum parts.
 * seed: A and B from the generator instead of a and b.
 */
function run(kernels: Kernels, dtype: Dtype, m: number, k: number, n: number, src: { a: number; b: number } | { seed: number }, split = false): { bytes: Uint8Array; checksum: number } {
  const size = ELEMENT_BYTES[dtype];
  const c = guarded(m * n * size);
  try {
    const bounds = cuts(m, split);
    let checksum = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [r0, r1] = [bounds[i]!, bounds[i + 1]!];
      const scratch = guarded(matmulScratchBytes(dtype, k, n));
      try {
        const band = { dtype, k, n, firstRow: r0, rows: r1 - r0, c: c.at + r0 * n * size, scratch: scratch.at };
        const part =
          'seed' in src
            ? runMatmulBand(kernels, { ...band, a: 0, b: 0, seed: src.seed })
            : runMatmulBand(kernels, { ...band, a: src.a + r0 * k * size, b: src.b });
        checksum = (checksum + part) >>> 0;
        scratch.check(`${kernels.kind} scratch, ${m}x${k}x${n} rows ${r0}..${r1}`);
      } finally {
        scratch.free();
      }
    }
    c.check(`${kernels.kind} C, ${m}x${k}x${n}`);
    return { bytes: bytesAt(arena, c.at, m * n * size), checksum };
  } finally {
    c.free();
  }
}

/** Each kernel set's C for caller data a, b (placed in the shared memory). */
function runAll(dtype: Dtype, a: MatrixArray, b: MatrixArray, m: number, k: number, n: number, split = false) {
  const pa = placed(dtype, a);
  const pb = placed(dtype, b);
  try {
    return sets.map(({ name, kernels }) => ({ name, ...run(kernels, dtype, m, k, n, { a: pa.at, b: pb.at }, split) }));
  } finally {
    pa.free();
    pb.free();
  }
}

function firstDifference(x: Uint8Array, y: Uint8Array): string {
  if (x.length !== y.length) return `lengths ${x.length} and ${y.length}`;
  const i = x.findIndex((v, j) => v !== y[j]);
  return i < 0 ? 'none' : `byte ${i}`;
}

function assertSameBits(got: Uint8Array, want: Uint8Array, what: string): void {
  assert.ok(Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0, `${what}: differs at ${firstDifference(got, want)}`);
}

for (const dtype of DTYPES) {
  test(`${dtype}: every kernel set gives the plain reference's bits and checksum on caller data, for every shape`, () => {
    for (const [m, k, n] of SHAPES) {
      const a = callerData(dtype, m * k, m * 1000 + k);
      const b = callerData(dtype, k * n, n * 1000 + k + 1);
      const want = reference(dtype, a, b, m, k, n);
      for (const r of runAll(dtype, a, b, m, k, n)) {
        assertSameBits(r.bytes, want, `${r.name} ${dtype} ${m}x${k}x${n}`);
        assert.is(r.checksum, referenceChecksum(want), `${r.name} ${dtype} ${m}x${k}x${n} checksum`);
      }
    }
  });

  test(`${dtype}: bands cut at odd rows give the whole matrix and its checksum, on caller data and on seeded A and B`, () => {
    for (const [m, k, n] of [[17, 5, 17], [63, 65, 64], [130, 300, 70], [20, 3, 4100]] as const) {
      const a = callerData(dtype, m * k, 7 + m);
      const b = callerData(dtype, k * n, 9 + n);
      const whole = runAll(dtype, a, b, m, k, n, false);
      const banded = runAll(dtype, a, b, m, k, n, true);
      for (let s = 0; s < sets.length; s++) {
        assertSameBits(banded[s]!.bytes, whole[s]!.bytes, `${banded[s]!.name} ${dtype} ${m}x${k}x${n} in bands`);
        assert.is(banded[s]!.checksum, whole[s]!.checksum, `${banded[s]!.name} ${dtype} ${m}x${k}x${n} band checksums`);
      }
      for (const { name, kernels } of sets) {
        const seededWhole = run(kernels, dtype, m, k, n, { seed: 99 });
        const seededBands = run(kernels, dtype, m, k, n, { seed: 99 }, true);
        assertSameBits(seededBands.bytes, seededWhole.bytes, `${name} ${dtype} ${m}x${k}x${n} seeded, in bands`);
        assert.is(seededBands.checksum, seededWhole.checksum, `${name} ${dtype} ${m}x${k}x${n} seeded band checksums`);
      }
    }
  });

  test(`${dtype}: seeded A and B are the generator's matrices 0 and 1 (rows of A, rows of B), in every kernel set`, () => {
    for (const [m, k, n] of [[1, 1, 1], [5, 17, 3], [63, 65, 64], [3, 300, 9], [2, 5, 4100]] as const) {
      for (const seed of [0, 1, 0xffffffff]) {
        // A and B drawn with fill (the element-wise ops' generator), then multiplied as caller data
        const size = ELEMENT_BYTES[dtype];
        const pa = arena.alloc(m * k * size + 1);
        const pb = arena.alloc(k * n * size + 1);
        sets[0]!.kernels.fill(dtype, pa, k, 0, m, seed, 0);
        sets[0]!.kernels.fill(dtype, pb, n, 0, k, seed, 1);
        const a = viewOf(dtype, arena.memory.buffer, pa, m * k).slice();
        const b = viewOf(dtype, arena.memory.buffer, pb, k * n).slice();
        arena.free(pa);
        arena.free(pb);
        const want = reference(dtype, a, b, m, k, n);
        for (const { name, kernels } of sets) {
          const r = run(kernels, dtype, m, k, n, { seed });
          assertSameBits(r.bytes, want, `${name} ${dtype} ${m}x${k}x${n} seed ${seed}`);
          assert.is(r.checksum, referenceChecksum(want), `${name} ${dtype} seed ${seed} checksum`);
        }
      }
    }
  });
}

test('the scratch size of src/kernels/matmul.ts is the one the WASM kernels use (both builds)', () => {
  const wasm = sets.filter((s) => s.kernels instanceof WasmKernels).map((s) => s.kernels as WasmKernels);
  assert.is(wasm.length, 2);
  for (const dtype of DTYPES)
    for (const k of [0, 1, 3, 255, 256, 257, 1000, 4096])
      for (const n of [0, 1, 7, 8, 9, 2047, 2048, 2049, 4095, 4096, 4097, 10000])
        for (const w of wasm) assert.is(matmulScratchBytes(dtype, k, n), w.matmulScratchBytes(ELEMENT_BYTES[dtype], k, n), `${dtype} k=${k} n=${n}`);
});

test('int32 products and sums wrap around mod 2^32 like NumPy int32 matmul', () => {
  // 0x7fffffff * 2 + 1 * 1 = 2^32 - 1 -> -1;  (-2^31) * (-1) = 2^31 -> -2^31;  65536 * 65536 = 2^32 -> 0
  const a = Int32Array.from([0x7fffffff, 1, -0x80000000, 0, 65536, 3]);
  const b = Int32Array.from([2, 1, 1, -1]); // 2 x 2
  // A is 3 x 2: [[0x7fffffff, 1], [-2^31, 0], [65536, 3]]; B = [[2, 1], [1, -1]]
  const want = [0x7fffffff * 2 + 1, 0x7fffffff - 1, -0x80000000 * 2, -0x80000000, 65536 * 2 + 3, 65536 - 3].map((x) => Number(BigInt.asIntN(32, BigInt(x))));
  for (const r of runAll('int32', a, b, 3, 2, 2)) assert.equal(Array.from(new Int32Array(r.bytes.buffer)), want, r.name);
  // and full-range random data against exact integer arithmetic reduced mod 2^32
  const [m, k, n] = [9, 70, 11];
  const x = callerData('int32', m * k, 5);
  const y = callerData('int32', k * n, 6);
  const exact = new Int32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0n;
      for (let p = 0; p < k; p++) s += BigInt(x[i * k + p]!) * BigInt(y[p * n + j]!);
      exact[i * n + j] = Number(BigInt.asIntN(32, s));
    }
  for (const r of runAll('int32', x, y, m, k, n)) assertSameBits(r.bytes, new Uint8Array(exact.buffer), `${r.name} wraps`);
});

test('the rounding order: k ascending, float32 accumulates in float32, no fused multiply-add, the sum starts at +0', () => {
  const cases: { dtype: 'float32' | 'float64'; a: number[]; b: number[]; want: number; why: string }[] = [
    { dtype: 'float32', a: [1, 2 ** -24, 2 ** -24], b: [1, 1, 1], want: 1, why: 'float32 sums: 1 + 2^-24 rounds to 1, twice (float64 accumulation would give 1 + 2^-23)' },
    { dtype: 'float32', a: [2 ** -24, 2 ** -24, 1], b: [1, 1, 1], want: 1 + 2 ** -23, why: 'ascending k: the small terms first make 2^-23' },
    { dtype: 'float32', a: [-1, 1 + 2 ** -13], b: [1, 1 - 2 ** -13], want: 0, why: 'the product 1 - 2^-26 rounds to 1 before the add (an FMA gives -2^-26)' },
    { dtype: 'float64', a: [-1, 1 + 2 ** -30], b: [1, 1 - 2 ** -30], want: 0, why: 'the product 1 - 2^-60 rounds to 1 before the add (an FMA gives -2^-60)' },
    { dtype: 'float32', a: [3e38, -3e38], b: [10, 10], want: NaN, why: 'a float32 product overflows to Infinity (in float64 it would not)' },
    { dtype: 'float64', a: [-0], b: [1], want: 0, why: '+0 + -0 is +0' },
    { dtype: 'float32', a: [-0, -0], b: [1, 1], want: 0, why: '+0 + -0 + -0 is +0' },
  ];
  for (const c of cases) {
    const a = typed(c.dtype, c.a);
    const b = typed(c.dtype, c.b);
    for (const r of runAll(c.dtype, a, b, 1, c.a.length, 1)) {
      const got = viewOf(c.dtype, r.bytes.buffer, 0, 1)[0]!;
      assert.ok(Object.is(got, c.want), `${r.name} ${c.dtype}: got ${got}, want ${c.want}: ${c.why}`);
    }
  }
});

test('NaN and Infinity propagate, and every NaN comes out as the canonical quiet NaN', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    // A 3 x 2, B 2 x 3
    const a = typed(dtype, [NaN, 1, Infinity, 1, 1, 2]);
    const b = typed(dtype, [1, 0, 2, -Infinity, 1, 3]);
    // row 0: NaN everywhere. row 1: [Inf + -Inf = NaN, Inf*0 + 1 = NaN, Inf*2 + 3 = Inf]. row 2: [1 - 2Inf = -Inf, 0 + 2 = 2, 2 + 6 = 8]
    // NaN inputs with payloads and sign bits of their own, written as bits
    const negativeWithPayload = dtype === 'float32' ? [0xffc12345] : [0x12345, 0xfff81234];
    const signalling = dtype === 'float32' ? [0x7fa00001] : [1, 0x7ff40000];
    new Uint32Array(a.buffer).set(negativeWithPayload, 0);
    for (const r of runAll(dtype, a, b, 3, 2, 3)) {
      const c = viewOf(dtype, r.bytes.buffer, 0, 9);
      for (const j of [0, 1, 2, 3, 4]) assert.ok(Number.isNaN(c[j]!), `${r.name} ${dtype} [${j}] should be NaN`);
      assert.equal(Array.from(c.slice(5)), [Infinity, -Infinity, 2, 8], `${r.name} ${dtype} Infinity`);
      const words = new Uint32Array(r.bytes.buffer);
      const per = dtype === 'float32' ? 1 : 2;
      for (const j of [0, 1, 2, 3, 4]) assert.equal(Array.from(words.slice(j * per, j * per + per)), [...CANONICAL_NAN[dtype]], `${r.name} ${dtype} [${j}] canonical NaN`);
    }
    const one = new ARRAY_OF[dtype](1);
    new Uint32Array(one.buffer).set(signalling);
    for (const r of runAll(dtype, one, typed(dtype, [2]), 1, 1, 1)) assert.equal(Array.from(new Uint32Array(r.bytes.buffer)), [...CANONICAL_NAN[dtype]], `${r.name} ${dtype} payload dropped`);
  }
});

test('NumPy (when installed) agrees: int32 bit for bit, floats within 2 k u sum|a||b| (u = 2^-24, 2^-53)', () => {
  const python = findPythonWithNumpy();
  if (!python) return void console.log('  (no python3 with NumPy: the NumPy cross-check was skipped)');
  for (const dtype of DTYPES)
    for (const [m, k, n] of [[1, 1, 1], [5, 17, 3], [63, 65, 64], [5, 600, 9], [3, 0, 4]] as const) {
      const a = unitData(dtype, m * k, 11 + k);
      const b = unitData(dtype, k * n, 13 + n);
      const theirs = numpyMatmul(python, dtype, m, k, n, new Uint8Array(a.buffer), new Uint8Array(b.buffer));
      const numpy = viewOf(dtype, theirs.buffer, theirs.byteOffset, m * n);
      for (const r of runAll(dtype, a, b, m, k, n)) {
        if (dtype === 'int32') {
          assertSameBits(r.bytes, new Uint8Array(theirs), `${r.name} int32 ${m}x${k}x${n} vs NumPy`);
          continue;
        }
        const ours = viewOf(dtype, r.bytes.buffer, 0, m * n);
        const u = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let magnitude = 0;
            for (let p = 0; p < k; p++) magnitude += Math.abs(a[i * k + p]! * b[p * n + j]!);
            const tolerance = 2 * k * u * magnitude;
            const diff = Math.abs(ours[i * n + j]! - numpy[i * n + j]!);
            assert.ok(diff <= tolerance, `${r.name} ${dtype} ${m}x${k}x${n} [${i}][${j}]: ${ours[i * n + j]} vs NumPy ${numpy[i * n + j]} (|diff| ${diff} > ${tolerance})`);
          }
      }
    }
});

test.run();
