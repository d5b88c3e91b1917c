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
