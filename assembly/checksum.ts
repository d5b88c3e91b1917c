// The checksum, over the result's little-endian 32-bit words w[k] (a float64
// value is two words, low word first), k counted from the first word of row 0:
//
//   checksum = sum over k of w[k] * (2k + 1)   (mod 2^32)
//
// Every weight is odd, so any single changed word changes the sum, and a word
// moved to another position changes it too unless the difference of the two
// words times the distance is a multiple of 2^31. A sum combines by addition:
// a band of rows starting at word k0 is summed alone and the band sums are
// added (mod 2^32). It costs one multiply-add per word, so it can be computed
// in the same pass that produces the result.

/** Checksum terms of `words` words at ptr, the first being word number firstWord. */
export function checksum(ptr: usize, words: u32, firstWord: u32): u32 {
  let k: u32 = 0;
  let sum: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = i32x4.splat(0);
    let weight = weightsFrom(firstWord);
    const step = i32x4.splat(8);
    const vectors = words & ~3;
    for (; k < vectors; k += 4) {
      acc = i32x4.add(acc, i32x4.mul(v128.load(ptr + (<usize>k << 2)), weight));
      weight = i32x4.add(weight, step);
    }
    sum = horizontalSum(acc);
  }
  for (; k < words; k++) {
    sum += load<u32>(ptr + (<usize>k << 2)) * (2 * (firstWord + k) + 1);
  }
  return sum;
}

/** The weights 2k+1 of words k, k+1, k+2, k+3. */
// @ts-ignore: decorator
@inline export function weightsFrom(k: u32): v128 {
  return i32x4.add(i32x4.splat(2 * k + 1), i32x4(0, 2, 4, 6));
}

// @ts-ignore: decorator
@inline export function horizontalSum(acc: v128): u32 {
  return <u32>(i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3));
}

// The checksum of a stream of blocks without a multiply per vector: what the
// fused data kernel (elementwise.ts) accumulates. A block is eight vectors
// (BLOCK_WORDS = 32 words); lane l of vector j of block b is word
// k = k0 + 32b + 4j + l, of weight 2k + 1 = (2k0 + 1 + 2l) + 8j + 64b. With,
// per lane, over the blocks so far,
//
//   s  = sum of every vector                   (s += the block's sum, each block)
//   f  = sum of s after each block            = sum over b of (blocks - b) (block b's sum),
//        so sum over b of b (block b's sum)   = blocks s - f
//   qi = sum of the vectors j with bit i of j set (i = 0, 1, 2),
//        so sum over blocks of sum over j of j v[j] = q0 + 2 q1 + 4 q2,
//
// the terms of all the blocks, summed over the four lanes (all mod 2^32), are
//
//   (2k0 + 1 + 2l + 64 blocks) s - 64 f + 8 (q0 + 2 q1 + 4 q2).
//
// Mod 2^32 is a ring, so wrapping in the running sums changes nothing: the
// result is the same u32 as checksum() over the same words.

/** 32-bit words in one block of eight v128. */
export const BLOCK_WORDS: u32 = 32;

/** The checksum terms of `blocks` blocks from word k0, from the running sums above. */
// @ts-ignore: decorator
@inline export function blockTerms(s: v128, f: v128, q0: v128, q1: v128, q2: v128, blocks: u32, k0: u32): u32 {
  const within = i32x4.add(q0, i32x4.add(i32x4.shl(q1, 1), i32x4.shl(q2, 2)));
  const weighted = i32x4.mul(i32x4.add(weightsFrom(k0), i32x4.splat(2 * BLOCK_WORDS * blocks)), s);
  return horizontalSum(i32x4.add(i32x4.sub(weighted, i32x4.shl(f, 6)), i32x4.shl(within, 3)));
}
