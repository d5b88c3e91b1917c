// The generator: every value a pure function of (seed, matrix, row, column) as
// documented in the README, recomputed here from the formula alone (BigInt
// arithmetic mod 2^32, no code under test), plus its distribution and its
// independence from how rows are split into bands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DTYPES, ELEMENT_BYTES, viewOf, type Dtype } from '../src/kernels/dtype.js';
import { kernelSets } from './fixtures/kernel-sets.js';

// ---- the documented definition, independently -------------------------------
const M32 = 0xffffffffn;
const u = (x: bigint): bigint => x & M32;
function mix(x: bigint): bigint {
  x = u(x);
  x ^= x >> 16n;
  x = u(x * 0x7feb352dn);
  x ^= x >> 15n;
  x = u(x * 0x846ca68bn);
  x ^= x >> 16n;
  return x;
}
function refRowKey(seed: number, matrix: number, row: number): bigint {
  const s = mix(BigInt(seed) ^ 0x243f6a88n);
  const m = mix(s + 0x85ebca77n * BigInt(matrix + 1));
  return mix(m + 0xc2b2ae3dn * BigInt(row + 1));
}
const word = (key: bigint, k: number): bigint => mix(key + 0x9e3779b9n * BigInt(k));
function refValue(dtype: Dtype, seed: number, matrix: number, row: number, col: number): number {
  const key = refRowKey(seed, matrix, row);
  if (dtype === 'int32') return Number(((word(key, col) >> 8n) * 100n) >> 24n);
  if (dtype === 'float32') return Number(word(key, col) >> 8n) / 2 ** 24;
  const hi = word(key, 2 * col);
  const lo = word(key, 2 * col + 1) >> 11n;
  return Number((hi << 21n) | lo) / 2 ** 53;
}
// -----------------------------------------------------------------------------

const { arena, sets } = kernelSets();

/** `rows` rows from firstRow, `cols` values each, of one matrix, by one kernel set. */
function generate(set: number, dtype: Dtype, seed: number, matrix: number, firstRow: number, rows: number, cols: number): number[] {
  const p = arena.alloc(rows * cols * ELEMENT_BYTES[dtype]);
  try {
    sets[set]!.kernels.fill(dtype, p, cols, firstRow, rows, seed, matrix);
    return Array.from(viewOf(dtype, arena.memory.buffer, p, rows * cols));
  } finally {
    arena.free(p);
  }
}

const PINS: [number, number, number, number][] = [
  // seed, matrix, row, col
  [0, 0, 0, 0],
  [1, 0, 0, 0],
  [1, 1, 0, 0],
  [1, 0, 0, 9],
  [42, 1, 17, 3],
  [0xffffffff, 0, 4095, 4095],
  [123456789, 1, 100000, 70],
];

test('values at pinned (seed, matrix, row, col) equal the documented formula computed independently', () => {
  for (const dtype of DTYPES)
    for (const [seed, matrix, row, col] of PINS)
      for (let s = 0; s < sets.length; s++) {
        const got = generate(s, dtype, seed, matrix, row, 1, col + 1)[col];
        assert.is(got, refValue(dtype, seed, matrix, row, col), `${sets[s]!.name} ${dtype} seed ${seed} matrix ${matrix} (${row}, ${col})`);
      }
});

test('a few values are pinned as literals, so a change of the definition cannot go unnoticed', () => {
  // computed once from the formula in Python (a third implementation); a change here breaks clients
  assert.equal([0, 1, 2, 3, 4].map((c) => refValue('int32', 1, 0, 0, c)), generate(0, 'int32', 1, 0, 0, 1, 5));
  assert.equal(generate(0, 'int32', 1, 0, 0, 1, 5), PINNED_INT32_SEED1_A_ROW0);
  assert.is(generate(0, 'float64', 7, 1, 3, 1, 1)[0], PINNED_FLOAT64_SEED7_B_3_0);
});
const PINNED_INT32_SEED1_A_ROW0 = [98, 13, 28, 14, 85];
const PINNED_FLOAT64_SEED7_B_3_0 = 0.9622475995993456;

test('the row keys exported by the WASM module match the formula', () => {
  const wasm = sets[0]!.kernels as unknown as { rowKey(seed: number, matrix: number, row: number): number };
  for (const [seed, matrix, row] of PINS) assert.is(wasm.rowKey(seed, matrix, row), Number(refRowKey(seed, matrix, row)));
});

const N = 500;

test('int32 values are integers in [0, 100) with mean near 49.5 and a flat histogram (chi-square over 100 buckets)', () => {
  for (const seed of [1, 2024, 0xdeadbeef]) {
    const values = generate(0, 'int32', seed, 0, 0, N, N);
    const counts = new Array<number>(100).fill(0);
    let sum = 0;
    for (const v of values) {
      assert.ok(Number.isInteger(v) && v >= 0 && v < 100, `value ${v} out of range`);
      counts[v]!++;
      sum += v;
    }
    const mean = sum / values.length;
    // standard error of the mean: 28.87 / sqrt(250000) = 0.058; allow 6 of them
    assert.ok(Math.abs(mean - 49.5) < 0.35, `mean ${mean}`);
    const expected = values.length / 100;
    const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    // 99 degrees of freedom: P(chi2 > 148.2) = 0.001; a biased generator lands far above
    assert.ok(chi2 < 148.2, `chi-square ${chi2.toFixed(1)} for seed ${seed}`);
    assert.ok(chi2 > 50, `chi-square ${chi2.toFixed(1)} is suspiciously low (too regular) for seed ${seed}`);
  }
});

test('float32 and float64 values are in [0, 1) with mean near 0.5, and float64 uses more than 24 bits', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const values = generate(0, dtype, 99, 1, 0, N, N);
    let sum = 0;
    let fine = 0;
    for (const v of values) {
      assert.ok(v >= 0 && v < 1, `${dtype} value ${v} out of [0, 1)`);
      sum += v;
      if (v * 2 ** 24 !== Math.floor(v * 2 ** 24)) fine++;
    }
    const mean = sum / values.length;
    // standard error 0.2887 / 500 = 0.00058; allow 6 of them
    assert.ok(Math.abs(mean - 0.5) < 0.0035, `${dtype} mean ${mean}`);
    if (dtype === 'float32') assert.is(fine, 0, 'float32 values are multiples of 2^-24');
    else assert.ok(fine > values.length * 0.99, 'float64 values have bits below 2^-24');
  }
});

test('A and B differ, seeds differ, rows differ: the streams are not copies of each other', () => {
  const a = generate(0, 'int32', 5, 0, 0, 2, 64);
  const b = generate(0, 'int32', 5, 1, 0, 2, 64);
  const other = generate(0, 'int32', 6, 0, 0, 2, 64);
  assert.not.equal(a, b);
  assert.not.equal(a, other);
  assert.not.equal(a.slice(0, 64), a.slice(64));
});

test('the result never depends on how the rows are split into bands', () => {
  for (const dtype of DTYPES)
    for (let s = 0; s < sets.length; s++) {
      const rows = 37;
      const cols = 29;
      const whole = generate(s, dtype, 77, 1, 0, rows, cols);
      for (const parts of [2, 3, 4, 5, 37]) {
        const banded: number[] = [];
        const base = Math.floor(rows / parts);
        let first = 0;
        for (let i = 0; i < parts; i++) {
          const r = base + (i < rows % parts ? 1 : 0);
          banded.push(...generate(s, dtype, 77, 1, first, r, cols));
          first += r;
        }
        assert.equal(banded, whole, `${sets[s]!.name} ${dtype} in ${parts} bands`);
      }
    }
});

test.run();
