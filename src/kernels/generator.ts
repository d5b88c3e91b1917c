// The generator and checksum definitions in plain TypeScript: the reference the
// WASM kernels (assembly/kernels.ts) must match bit for bit. The README states
// the same definitions for clients in other languages.

/** lowbias32 (Chris Wellons' hash-prospector): a bijective 32-bit mixer. Returns int32 bits. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

/** Weyl step between consecutive words of one row's stream. */
export const GOLDEN = 0x9e3779b9 | 0;

/** The stream key of `row` of `matrix` (0 = A, 1 = B) for `seed`. Unsigned. */
export function rowKey(seed: number, matrix: number, row: number): number {
  const s = mix32((seed ^ 0x243f6a88) | 0);
  const m = mix32((s + Math.imul(0x85ebca77, matrix + 1)) | 0);
  return mix32((m + Math.imul(0xc2b2ae3d, row + 1)) | 0) >>> 0;
}

/** Formats a 32-bit checksum as the API shows it: 8 lowercase hex digits. */
export function formatChecksum(sum: number): string {
  return (sum >>> 0).toString(16).padStart(8, '0');
}
