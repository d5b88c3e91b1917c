// The checksum: sum over the result's little-endian 32-bit words w[k] of
// w[k] * (2k + 1), mod 2^32, k counted from the first word of row 0
// (docs/kernels.md, "The checksum"). Recomputed here from that sentence
// (BigInt), checked in every kernel set, combined over bands, sensitive to
// values and positions; and the docs' NumPy snippet is followed step for step
// in TS (test/docs-examples.test.ts runs it with NumPy itself).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngines, type Engines } from '../src/engines/index.js';
import type { MatrixArray } from '../src/kernels/dtype.js';
import { ROOT } from '../src/paths.js';
import { pythonBlock } from '../bench/docs/examples.ts';
import { kernelSets, xorshift } from './fixtures/kernel-sets.js';

const { arena, sets } = kernelSets();

function reference(words: Uint32Array, firstWord = 0): number {
  let sum = 0n;
  words.forEach((w, i) => (sum += BigInt(w) * (2n * BigInt(firstWord + i) + 1n)));
  return Number(sum % 2n ** 32n);
}

/** Writes the words into the shared memory and checksums them with every kernel set. */
function checksums(words: Uint32Array, firstWord = 0): { name: string; sum: number }[] {
  const p = arena.alloc(Math.max(4, words.length * 4));
  try {
    new Uint32Array(arena.memory.buffer, p, words.length).set(words);
    return sets.map(({ name, kernels }) => ({ name, sum: kernels.checksum(p, words.length, firstWord) }));
  } finally {
    arena.free(p);
  }
}

function randomWords(count: number, seed: number): Uint32Array {
  const rnd = xorshift(seed);
  return Uint32Array.from({ length: count }, () => rnd());
}

test('every kernel set computes the documented definition, for every length around the SIMD width and any first word', () => {
  for (let count = 0; count <= 70; count++)
    for (const firstWord of [0, 1, 3, 1000, 0x3fffffff - 70, 0x7fffffff]) {
      const words = randomWords(count, count + 1);
      const want = reference(words, firstWord);
      for (const { name, sum } of checksums(words, firstWord)) assert.is(sum, want, `${name}: ${count} words from ${firstWord}`);
    }
});

test('band checksums added mod 2^32 give the checksum of the whole', () => {
  const words = randomWords(1000, 7);
  const whole = reference(words);
  for (const cuts of [[500], [1, 999], [3, 17, 64, 333], [250, 500, 750]]) {
    for (const { name, kernels } of sets) {
      const p = arena.alloc(words.length * 4);
      try {
        new Uint32Array(arena.memory.buffer, p, words.length).set(words);
        let sum = 0;
        let start = 0;
        for (const end of [...cuts, words.length]) {
          sum = (sum + kernels.checksum(p + start * 4, end - start, start)) >>> 0;
          start = end;
        }
        assert.is(sum, whole, `${name} cut at ${cuts}`);
      } finally {
        arena.free(p);
      }
    }
  }
});

test('changing any single word changes the checksum', () => {
  const words = randomWords(67, 3);
  const base = reference(words);
  for (let i = 0; i < words.length; i++) {
    for (const delta of [1, 0x80000000, 0xffffffff]) {
      const changed = words.slice();
      changed[i] = (changed[i]! + delta) >>> 0;
      for (const { name, sum } of checksums(changed)) assert.is.not(sum, base, `${name}: word ${i} + ${delta}`);
    }
  }
});

test('swapping two different values changes the checksum: it is position-sensitive', () => {
  const words = Uint32Array.from({ length: 64 }, (_, i) => i * 3 + 1);
  const base = reference(words);
  for (const [i, j] of [[0, 1], [0, 63], [5, 40], [62, 63]] as const) {
    const swapped = words.slice();
    [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
    for (const { name, sum } of checksums(swapped)) assert.is.not(sum, base, `${name}: swap ${i} and ${j}`);
  }
  // a transposed matrix has the same values in other places
  const square = Uint32Array.from({ length: 16 }, (_, i) => i);
  const transposed = Uint32Array.from({ length: 16 }, (_, i) => (i % 4) * 4 + Math.floor(i / 4));
  assert.is.not(reference(transposed), reference(square));
});

test('a float64 value counts as two words, the low word first', () => {
  const value = Float64Array.of(1.5, -2.25);
  const words = new Uint32Array(value.buffer);
  const [lo0, hi0, lo1, hi1] = [words[0]!, words[1]!, words[2]!, words[3]!];
  assert.is(hi0, 0x3ff80000);
  assert.is(lo0, 0);
  const want = Number((BigInt(lo0) * 1n + BigInt(hi0) * 3n + BigInt(lo1) * 5n + BigInt(hi1) * 7n) % 2n ** 32n);
  for (const { name, sum } of checksums(words)) assert.is(sum, want, name);
});

// ---- the docs' NumPy snippet ---------------------------------------------

/** The snippet as printed in docs/kernels.md. */
function docsSnippet(): string {
  return pythonBlock(readFileSync(join(ROOT, 'docs', 'kernels.md'), 'utf8'), '# wasmatrix checksum of a whole result (int32, float32 or float64), as the API prints it', 'docs/kernels.md');
}

/** The snippet's steps, one for one, in TS: little-endian uint32 words, uint64 arithmetic, mask, sum, mask, 8 hex digits. */
function snippetInTs(result: MatrixArray): string {
  const bytes = new Uint8Array(result.buffer, result.byteOffset, result.byteLength).slice(); // ascontiguousarray, '<' (this machine is little-endian)
  const w = BigUint64Array.from(new Uint32Array(bytes.buffer), (x) => BigInt(x)); // .view('<u4').astype(np.uint64)
  const k = BigUint64Array.from({ length: w.length }, (_, i) => BigInt(i)); // np.arange(w.size, dtype=np.uint64)
  const terms = w.map((x, i) => (x * (2n * k[i]! + 1n)) & 0xffffffffn); // (w * (2 * k + 1)) & 0xFFFFFFFF
  const total = terms.reduce((s, t) => s + t, 0n); // int(terms.sum()) (uint64 holds it: < 2^30 terms < 2^32)
  return (total & 0xffffffffn).toString(16).padStart(8, '0'); // format(... & 0xFFFFFFFF, '08x')
}

let engines: Engines;
test.before(async () => {
  engines = await createEngines({ threads: 2, processes: 1 });
});
test.after(async () => {
  await engines.close();
});

test('the docs snippet, step for step in TS, reproduces the service checksum of full results', async () => {
  const snippet = docsSnippet();
  for (const step of [".view('<u4').astype(np.uint64)", 'np.arange(w.size, dtype=np.uint64)', '(w * (2 * k + 1)) & 0xFFFFFFFF', "format(int(terms.sum()) & 0xFFFFFFFF, '08x')"]) {
    assert.ok(snippet.includes(step), `the snippet still has the step ${step}`);
  }
  for (const dtype of ['int32', 'float32', 'float64'] as const) {
    for (const [rows, cols] of [[1, 1], [13, 7], [64, 65]] as const) {
      const r = await engines.threads.run({ op: 'add', dtype, rows, cols, source: { kind: 'random', seed: 2024 }, output: 'full', workers: 2 });
      assert.is(snippetInTs(r.output!), r.checksum, `${dtype} ${rows}x${cols}`);
    }
  }
});

test.run();
