// The WASM SIMD build, the WASM scalar build and the TS baseline compute the
// same bits: every op x dtype, over caller data (edge cases and random data) and
// over generated data, for odd and non-square shapes; and all three agree with
// a plain element-by-element reference. The fused kernels (the op and the
// checksum in one pass, for caller data and for generated data) give the same
// bytes and checksums as the op followed by a separate checksum pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DTYPES, ELEMENT_BYTES, ELEMENTWISE_OPS, viewOf, type Dtype, type MatrixArray, type ElementwiseOp as Op } from '../src/kernels/dtype.js';
import { runBand, WORDS_PER_ELEMENT } from '../src/kernels/kernels.js';
import { bytesAt, kernelSets, SHAPES, xorshift } from './fixtures/kernel-sets.js';

const { arena, sets } = kernelSets();

const INT32_EDGES = [0, 1, -1, 2, -2, 0x7fffffff, -0x80000000, 0x7ffffffe, -0x7fffffff, 0x40000000, -0x40000000, 65536, 46341, -46341, 99, 12345678];
const FLOAT_EDGES = [
  0, -0, 1, -1, 0.1, 0.2, 0.3, 1 / 3, 16777216, 16777217, 1e-45, 1.1754943508222875e-38, 3.4028234663852886e38, 1e38, -1e38, 1e300, 5e-324,
  Infinity, -Infinity, NaN, 0.5, 1 - 2 ** -24, 1 + 2 ** -23, 2 ** 24 + 2, 123.456,
];

/** Caller data for one dtype: the edge cases crossed with each other, then random values. */
function callerData(dtype: Dtype, count: number, salt: number): { a: MatrixArray; b: MatrixArray } {
  const a = new (dtype === 'int32' ? Int32Array : dtype === 'float32' ? Float32Array : Float64Array)(count);
  const b = new (a.constructor as new (n: number) => MatrixArray)(count);
  const edges = dtype === 'int32' ? INT32_EDGES : FLOAT_EDGES;
  const rnd = xorshift(0x9e37 + salt);
  for (let i = 0; i < count; i++) {
    const pair = i < edges.length * edges.length;
    if (dtype === 'int32') {
      a[i] = pair ? edges[i % edges.length]! : rnd() | 0;
      b[i] = pair ? edges[Math.floor(i / edges.length)]! : rnd() | 0;
    } else {
      // random floats of every magnitude: raw bits for float32, scaled values for float64
      a[i] = pair ? edges[i % edges.length]! : (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 80) - 40);
      b[i] = pair ? edges[Math.floor(i / edges.length)]! : (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 80) - 40);
    }
  }
  return { a, b };
}

function reference(op: Op, dtype: Dtype, x: number, y: number): number {
  if (dtype === 'int32') return op === 'add' ? (x + y) | 0 : op === 'sub' ? (x - y) | 0 : Math.imul(x, y);
  const r = op === 'add' ? x + y : op === 'sub' ? x - y : x * y;
  return dtype === 'float32' ? Math.fround(r) : r;
}

/**
 * Places a and b, runs binary + checksum (two passes) with every kernel set and
 * checks that the fused binaryChecksum gives the same bytes and checksum in
 * that set; returns each set's output bytes and checksum.
 */
function runBinary(op: Op, dtype: Dtype, a: MatrixArray, b: MatrixArray): { name: string; out: Uint8Array; checksum: number; values: MatrixArray }[] {
  const count = a.length;
  const bytes = count * ELEMENT_BYTES[dtype];
  const pa = arena.alloc(bytes);
  const pb = arena.alloc(bytes);
  viewOf(dtype, arena.memory.buffer, pa, count).set(a);
  viewOf(dtype, arena.memory.buffer, pb, count).set(b);
  try {
    return sets.map(({ name, kernels }) => {
      const out = arena.alloc(bytes);
      try {
        kernels.binary(op, dtype, pa, pb, out, count);
        const checksum = kernels.checksum(out, count * WORDS_PER_ELEMENT[dtype], 0);
        const result = { name, out: bytesAt(arena, out, bytes), checksum, values: viewOf(dtype, arena.memory.buffer, out, count).slice() };
        new Uint8Array(arena.memory.buffer, out, bytes).fill(0xa5); // so the fused kernel must write every byte
        const fused = kernels.binaryChecksum(op, dtype, pa, pb, out, count, 0);
        assert.equal(bytesAt(arena, out, bytes), result.out, `${name} fused ${op} ${dtype} x${count}: output bytes`);
        assert.is(fused, checksum, `${name} fused ${op} ${dtype} x${count}: checksum`);
        return result;
      } finally {
        arena.free(out);
      }
    });
  } finally {
    arena.free(pa);
    arena.free(pb);
  }
}

for (const dtype of DTYPES)
  for (const op of ELEMENTWISE_OPS) {
    test(`${op} ${dtype} on caller data gives the same bits in the SIMD, scalar and TS kernels, and matches a plain reference`, () => {
      for (const [rows, cols] of [...SHAPES, [500, 3] as [number, number], [29, 31] as [number, number]]) {
        const count = rows * cols;
        const { a, b } = callerData(dtype, count, rows * 1000 + cols);
        const [first, ...others] = runBinary(op, dtype, a, b);
        for (const other of others) {
          assert.equal(other.out, first!.out, `${other.name} vs ${first!.name}, ${rows}x${cols}`);
          assert.is(other.checksum, first!.checksum, `${other.name} checksum, ${rows}x${cols}`);
        }
        for (let i = 0; i < count; i++) {
          const want = reference(op, dtype, a[i]!, b[i]!);
          const got = first!.values[i]!;
          if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `${rows}x${cols} [${i}] ${a[i]} ${op} ${b[i]} should be NaN`);
          else assert.ok(Object.is(got, want), `${rows}x${cols} [${i}]: ${a[i]} ${op} ${b[i]} = ${got}, want ${want}`);
        }
      }
    });
  }

test('int32 add, sub and mul wrap around at both ends like two\'s complement', () => {
  const a = Int32Array.from([0x7fffffff, -0x80000000, 0x7fffffff, -0x80000000, 0x10000, -0x80000000]);
  const b = Int32Array.from([1, -1, 0x7fffffff, 1, 0x10000, -0x80000000]);
  const results = Object.fromEntries(ELEMENTWISE_OPS.map((op) => [op, runBinary(op, 'int32', a, b)]));
  for (const r of results.add!) assert.equal(Array.from(r.values), [-0x80000000, 0x7fffffff, -2, -0x7fffffff, 0x20000, 0]);
  for (const r of results.sub!) assert.equal(Array.from(r.values), [0x7ffffffe, -0x7fffffff, 0, 0x7fffffff, 0, 0]);
  for (const r of results.mul!) assert.equal(Array.from(r.values), [0x7fffffff, -0x80000000, 1, -0x80000000, 0, 0]);
});

test('float32 results are rounded to float32 once, as an f32 operation does', () => {
  const a = Float32Array.from([0.1, 16777216, 1, 3.4028234663852886e38, 1e-45]);
  const b = Float32Array.from([0.2, 1, 2 ** -24, 3.4028234663852886e38, 1e-45]);
  for (const r of runBinary('add', 'float32', a, b)) {
    assert.is(r.values[0], Math.fround(Math.fround(0.1) + Math.fround(0.2)), `${r.name} 0.1 + 0.2`);
    assert.is(r.values[1], 16777216, `${r.name}: 2^24 + 1 rounds to even`);
    assert.is(r.values[2], 1, `${r.name}: 1 + 2^-24 rounds to 1`);
    assert.is(r.values[3], Infinity, `${r.name}: overflow gives Infinity`);
    assert.is(r.values[4], 2 * Math.fround(1e-45), `${r.name}: subnormals are kept, not flushed to zero`);
  }
});

test('NaN and Infinity propagate through every float op in every kernel', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const a = (dtype === 'float32' ? Float32Array : Float64Array).from([NaN, 1, Infinity, Infinity, -Infinity, Infinity]);
    const b = (dtype === 'float32' ? Float32Array : Float64Array).from([1, NaN, 1, -Infinity, 2, 0]);
    for (const op of ELEMENTWISE_OPS)
      for (const r of runBinary(op, dtype, a, b)) {
        assert.ok(Number.isNaN(r.values[0]!) && Number.isNaN(r.values[1]!), `${r.name} ${op} ${dtype}: NaN in, NaN out`);
        assert.is(r.values[2], Infinity, `${r.name} ${op}: Infinity op 1`);
        if (op === 'add') assert.ok(Number.isNaN(r.values[3]!), `${r.name}: Infinity + -Infinity is NaN`);
        if (op === 'sub') assert.is(r.values[3], Infinity, `${r.name}: Infinity - -Infinity`);
        if (op === 'mul') assert.ok(Number.isNaN(r.values[5]!), `${r.name}: Infinity * 0 is NaN`);
      }
  }
});

test('fill gives the same bits in the SIMD, scalar and TS kernels for every dtype, matrix and shape', () => {
  for (const dtype of DTYPES)
    for (const [rows, cols] of SHAPES)
      for (const [seed, matrix, firstRow] of [[0, 0, 0], [1, 1, 7], [0xffffffff, 0, 123456]] as const) {
        const bytes = rows * cols * ELEMENT_BYTES[dtype];
        const outs = sets.map(({ name, kernels }) => {
          const p = arena.alloc(bytes);
          try {
            kernels.fill(dtype, p, cols, firstRow, rows, seed, matrix);
            return { name, bytes: bytesAt(arena, p, bytes) };
          } finally {
            arena.free(p);
          }
        });
        for (const o of outs.slice(1)) assert.equal(o.bytes, outs[0]!.bytes, `${o.name} ${dtype} ${rows}x${cols} seed ${seed}`);
      }
});

test('the fused random kernel equals fill A, fill B, the op and the checksum, in every kernel set and for any band split', () => {
  for (const dtype of DTYPES)
    for (const op of ELEMENTWISE_OPS)
      for (const [rows, cols] of [[1, 1], [3, 5], [17, 17], [63, 65], [7, 130]] as const) {
        const count = rows * cols;
        const bytes = count * ELEMENT_BYTES[dtype];
        const words = count * WORDS_PER_ELEMENT[dtype];
        const [pa, pb, pOut, pFused] = [0, 1, 2, 3].map(() => arena.alloc(bytes)) as [number, number, number, number];
        try {
          let expected: { bytes: Uint8Array; checksum: number } | undefined;
          for (const { name, kernels } of sets) {
            kernels.fill(dtype, pa, cols, 0, rows, 42, 0);
            kernels.fill(dtype, pb, cols, 0, rows, 42, 1);
            kernels.binary(op, dtype, pa, pb, pOut, count);
            const separate = { bytes: bytesAt(arena, pOut, bytes), checksum: kernels.checksum(pOut, words, 0) };
            expected ??= separate;
            assert.equal(separate.bytes, expected.bytes, `${name} fill+${op} ${dtype} ${rows}x${cols}`);
            assert.is(separate.checksum, expected.checksum);
            // the same job fused, split into bands at every row boundary pattern we try
            for (const split of [[rows], [1, rows - 1], [Math.ceil(rows / 2), Math.floor(rows / 2)]]) {
              if (split.some((r) => r <= 0)) continue;
              let sum = 0;
              let first = 0;
              for (const r of split) {
                sum = (sum + kernels.randomBinary(op, dtype, pFused + first * cols * ELEMENT_BYTES[dtype], cols, first, r, 42)) >>> 0;
                first += r;
              }
              assert.equal(bytesAt(arena, pFused, bytes), expected.bytes, `${name} fused ${op} ${dtype} ${rows}x${cols} split ${split}`);
              assert.is(sum, expected.checksum, `${name} fused checksum ${op} ${dtype} ${rows}x${cols} split ${split}`);
            }
          }
        } finally {
          for (const p of [pa, pb, pOut, pFused]) arena.free(p);
        }
      }
});

/** The documented checksum (docs/kernels.md) of `words`, the first being word number firstWord, in BigInt. */
function referenceChecksum(words: Uint32Array, firstWord: number): number {
  let sum = 0n;
  words.forEach((w, i) => (sum += BigInt(w) * (2n * (BigInt(firstWord) + BigInt(i)) + 1n)));
  return Number(sum % 2n ** 32n);
}

test('the fused data kernel, band by band from any row (mid-vector starts), sums to the two-pass and documented checksums', () => {
  for (const dtype of DTYPES)
    for (const op of ELEMENTWISE_OPS)
      for (const [rows, cols] of [[1, 1], [3, 5], [13, 5], [17, 17], [9, 63], [5, 65], [7, 130], [40, 33]] as const) {
        const count = rows * cols;
        const bytes = count * ELEMENT_BYTES[dtype];
        const words = count * WORDS_PER_ELEMENT[dtype];
        const size = ELEMENT_BYTES[dtype];
        const { a, b } = callerData(dtype, count, rows * 7 + cols);
        const [pa, pb, pOut, pFused] = [0, 1, 2, 3].map(() => arena.alloc(bytes)) as [number, number, number, number];
        try {
          viewOf(dtype, arena.memory.buffer, pa, count).set(a);
          viewOf(dtype, arena.memory.buffer, pb, count).set(b);
          for (const { name, kernels } of sets) {
            kernels.binary(op, dtype, pa, pb, pOut, count);
            const twoPass = kernels.checksum(pOut, words, 0);
            const expected = bytesAt(arena, pOut, bytes);
            assert.is(twoPass, referenceChecksum(new Uint32Array(expected.slice().buffer), 0), `${name} two-pass ${op} ${dtype} ${rows}x${cols}`);
            for (const split of [[rows], [1, rows - 1], [Math.ceil(rows / 3), Math.ceil(rows / 3), rows - 2 * Math.ceil(rows / 3)], [rows - 1, 1]]) {
              if (split.some((r) => r <= 0)) continue;
              new Uint8Array(arena.memory.buffer, pFused, bytes).fill(0x5a);
              let sum = 0;
              let first = 0;
              for (const r of split) {
                // a band's pointers and first word start wherever its first row does: mid-vector unless cols is a multiple of the lanes
                const at = first * cols * size;
                sum = (sum + kernels.binaryChecksum(op, dtype, pa + at, pb + at, pFused + at, r * cols, first * cols * WORDS_PER_ELEMENT[dtype])) >>> 0;
                first += r;
              }
              assert.equal(bytesAt(arena, pFused, bytes), expected, `${name} fused ${op} ${dtype} ${rows}x${cols} split ${split}: bytes`);
              assert.is(sum, twoPass, `${name} fused ${op} ${dtype} ${rows}x${cols} split ${split}: checksum`);
            }
          }
        } finally {
          for (const p of [pa, pb, pOut, pFused]) arena.free(p);
        }
      }
});

test('the fused data kernel matches the documented checksum for every length around the block sizes and any first word (weights wrap mod 2^32)', () => {
  for (const dtype of DTYPES)
    for (let count = 0; count <= 70; count++) {
      const { a, b } = callerData(dtype, Math.max(1, count), count + 100);
      const bytes = Math.max(1, count) * ELEMENT_BYTES[dtype];
      const [pa, pb, pOut] = [0, 1, 2].map(() => arena.alloc(bytes)) as [number, number, number];
      try {
        viewOf(dtype, arena.memory.buffer, pa, a.length).set(a);
        viewOf(dtype, arena.memory.buffer, pb, b.length).set(b);
        for (const firstWord of [0, 1, 3, 0x7fffffff, 0xffffffff - 3 * count, 0xffffffff])
          for (const { name, kernels } of sets) {
            const sum = kernels.binaryChecksum('mul', dtype, pa, pb, pOut, count, firstWord);
            const words = new Uint32Array(bytesAt(arena, pOut, count * ELEMENT_BYTES[dtype]).buffer);
            assert.is(sum, referenceChecksum(words, firstWord), `${name} ${dtype} x${count} from word ${firstWord}`);
          }
      } finally {
        for (const p of [pa, pb, pOut]) arena.free(p);
      }
    }
});

test('a large data band (running sums that wrap many times) gives the two-pass checksum in every kernel set', () => {
  const count = 200_003; // 12,500 blocks of 16 words and an odd tail
  for (const dtype of DTYPES) {
    const { a, b } = callerData(dtype, count, 5);
    const bytes = count * ELEMENT_BYTES[dtype];
    const [pa, pb, pOut] = [0, 1, 2].map(() => arena.alloc(bytes)) as [number, number, number];
    try {
      viewOf(dtype, arena.memory.buffer, pa, count).set(a);
      viewOf(dtype, arena.memory.buffer, pb, count).set(b);
      const sums = sets.map(({ name, kernels }) => {
        kernels.binary('add', dtype, pa, pb, pOut, count);
        const twoPass = kernels.checksum(pOut, count * WORDS_PER_ELEMENT[dtype], 12345);
        assert.is(kernels.binaryChecksum('add', dtype, pa, pb, pOut, count, 12345), twoPass, `${name} ${dtype}`);
        return twoPass;
      });
      for (const sum of sums) assert.is(sum, sums[0], `${dtype}: every kernel set`);
    } finally {
      for (const p of [pa, pb, pOut]) arena.free(p);
    }
  }
});

test('runBand runs a data band in one pass (the fused kernel, no separate op or checksum call), as every mode does', () => {
  const calls: string[] = [];
  const { kernels } = sets[0]!;
  const spy = new Proxy(kernels, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...xs: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const p = arena.alloc(3 * 12 * 4);
  try {
    const checksum = runBand(spy, 'sub', { dtype: 'int32', cols: 4, firstRow: 2, rows: 3, a: p, b: p + 48, out: p + 96 });
    assert.equal(calls, ['binaryChecksum']);
    assert.is(checksum, kernels.checksum(p + 96, 12, 8));
    calls.length = 0;
    runBand(spy, 'sub', { dtype: 'int32', cols: 4, firstRow: 2, rows: 3, a: 0, b: 0, out: p + 96, seed: 1 });
    assert.equal(calls, ['randomBinary']);
  } finally {
    arena.free(p);
  }
});

test.run();
