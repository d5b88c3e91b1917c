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
// fused data kernel (elementwise.ts) accumulates. A block is four vectors
// (BLOCK_WORDS = 16 words); lane l of vector j of block b is word
// k = k0 + 16b + 4j + l, of weight 2k + 1 = (2k0 + 1 + 2l) + 8j + 32b. With,
// per vector position j and lane,
//
//   s_j = sum over b of v[b][j]                   (s_j += v[b][j] each block)
//   f_j = sum over b of (s_j after block b)        (f_j += s_j each block)
//       = sum over b of (blocks - b) v[b][j],  so  sum over b of b v[b][j] = blocks s_j - f_j,
//
// the terms of all the blocks are, summed over the four lanes (all mod 2^32),
//
//   sum over j of (2k0 + 1 + 2l + 8j) s_j + 32 (blocks s_j - f_j)
//   = (2k0 + 1 + 2l + 32 blocks) S - 32 F + 8 (s1 + 2 s2 + 3 s3),   S = sum of s_j, F = sum of f_j.
//
// Mod 2^32 is a ring, so wrapping in s_j and f_j changes nothing: the result
// is the same u32 as checksum() over the same words.

/** 32-bit words in one block of four v128. */
export const BLOCK_WORDS: u32 = 16;

/** The checksum terms of `blocks` blocks from word k0, from the running sums s_j and f_j above. */
// @ts-ignore: decorator
@inline export function blockTerms(s0: v128, s1: v128, s2: v128, s3: v128, f0: v128, f1: v128, f2: v128, f3: v128, blocks: u32, k0: u32): u32 {
  const s = i32x4.add(i32x4.add(s0, s1), i32x4.add(s2, s3));
  const f = i32x4.add(i32x4.add(f0, f1), i32x4.add(f2, f3));
  const within = i32x4.add(s1, i32x4.add(i32x4.shl(s2, 1), i32x4.mul(s3, i32x4.splat(3))));
  const weighted = i32x4.mul(i32x4.add(weightsFrom(k0), i32x4.splat(32 * blocks)), s);
  return horizontalSum(i32x4.add(i32x4.sub(weighted, i32x4.shl(f, 5)), i32x4.shl(within, 3)));
}
