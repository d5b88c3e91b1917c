// The arena: 64-byte aligned regions of one WebAssembly.Memory, reused after
// free, coalesced, grown on demand up to a cap, with MEMORY_EXHAUSTED past it;
// and kernels never read through a stale view after growth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isWasmatrixError } from '../src/errors.js';
import { TsKernels } from '../src/kernels/ts-kernels.js';
import { WasmKernels, compileKernels } from '../src/kernels/wasm-kernels.js';
import { Arena, PAGE_BYTES } from '../src/memory/arena.js';

const MiB = 1 << 20;

test('regions are 64-byte aligned, never at offset 0, and do not overlap', () => {
  const arena = new Arena({ shared: true, initialBytes: MiB });
  const regions = [1, 3, 64, 65, 100, 4096, 12345].map((bytes) => ({ start: arena.alloc(bytes), bytes }));
  for (const r of regions) {
    assert.is(r.start % 64, 0, `region of ${r.bytes} bytes at ${r.start}`);
    assert.ok(r.start >= 64);
  }
  const sorted = [...regions].sort((x, y) => x.start - y.start);
  for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i - 1]!.start + sorted[i - 1]!.bytes <= sorted[i]!.start, 'regions overlap');
  assert.ok(arena.bytesInUse >= regions.reduce((s, r) => s + r.bytes, 0));
});

test('a freed region is reused by the next allocation that fits', () => {
  const arena = new Arena({ shared: false, initialBytes: MiB });
  const a = arena.alloc(1000);
  arena.alloc(1000);
  arena.free(a);
  assert.is(arena.alloc(1000), a);
  arena.free(a);
  // first fit: smaller regions share the freed gap
  assert.is(arena.alloc(10), a);
  assert.is(arena.alloc(900), a + 64);
});

test('adjacent free regions coalesce, so a larger region fits where two small ones were', () => {
  const arena = new Arena({ shared: false, initialBytes: MiB });
  const a = arena.alloc(4096);
  const b = arena.alloc(4096);
  const c = arena.alloc(4096);
  arena.alloc(64); // keeps the tail apart
  arena.free(a);
  arena.free(c);
  arena.free(b); // joins a and c
  assert.is(arena.alloc(3 * 4096), a);
  assert.is(arena.byteLength, MiB, 'no growth was needed');
});

test('freeing an unknown region throws, and bytesInUse returns to 0 after everything is freed', () => {
  const arena = new Arena({ shared: false, initialBytes: MiB });
  const regions = [10, 20, 30].map((n) => arena.alloc(n));
  assert.throws(() => arena.free(12345), /unknown region/);
  for (const r of regions) arena.free(r);
  assert.is(arena.bytesInUse, 0);
});

test('the memory grows when a region does not fit, keeping the data already there', () => {
  const arena = new Arena({ shared: true, initialBytes: MiB });
  const first = arena.alloc(MiB / 2);
  new Uint8Array(arena.memory.buffer, first, 4).set([1, 2, 3, 4]);
  const big = arena.alloc(3 * MiB);
  assert.ok(arena.byteLength >= 3.5 * MiB, `grew to ${arena.byteLength}`);
  assert.is(arena.byteLength % PAGE_BYTES, 0);
  assert.ok(big + 3 * MiB <= arena.byteLength);
  assert.equal(Array.from(new Uint8Array(arena.memory.buffer, first, 4)), [1, 2, 3, 4]);
});

test('kernels see memory added by growth: no stale views (TS views are re-made, WASM reads the grown memory)', () => {
  const arena = new Arena({ shared: true, initialBytes: MiB });
  const wasm = new WasmKernels(compileKernels().module, arena.memory);
  const ts = new TsKernels(arena.memory);
  // use the TS kernels once, so they hold views of the small memory
  const small = arena.alloc(64);
  ts.fill('int32', small, 4, 0, 1, 1, 0);
  const n = 600; // 3 x 1.4 MiB: past the initial size
  const [a, b, out] = [0, 1, 2].map(() => arena.alloc(n * n * 4)) as [number, number, number];
  assert.ok(out + n * n * 4 > MiB);
  wasm.fill('int32', a, n, 0, n, 9, 0);
  wasm.fill('int32', b, n, 0, n, 9, 1);
  ts.binary('add', 'int32', a, b, out, n * n);
  const viaTs = ts.checksum(out, n * n, 0);
  wasm.binary('add', 'int32', a, b, out, n * n);
  assert.is(wasm.checksum(out, n * n, 0), viaTs);
  assert.is(new Int32Array(arena.memory.buffer, out, n * n)[n * n - 1], new Int32Array(arena.memory.buffer, a, n * n)[n * n - 1]! + new Int32Array(arena.memory.buffer, b, n * n)[n * n - 1]!);
});

test('past the cap an allocation fails with MEMORY_EXHAUSTED (503), and the arena keeps working', () => {
  const arena = new Arena({ shared: true, initialBytes: MiB, maxBytes: 4 * MiB });
  const kept = arena.alloc(2 * MiB);
  let error: unknown;
  try {
    arena.alloc(3 * MiB);
  } catch (e) {
    error = e;
  }
  assert.ok(isWasmatrixError(error), 'a WasmatrixError');
  if (isWasmatrixError(error)) {
    assert.is(error.code, 'MEMORY_EXHAUSTED');
    assert.is(error.status, 503);
  }
  assert.ok(arena.byteLength <= 4 * MiB);
  arena.free(kept);
  assert.ok(arena.alloc(3 * MiB) >= 64, 'fits once memory was freed');
});

test('the cap is at most 4 GiB (wasm32 addresses), whatever is asked', () => {
  const arena = new Arena({ shared: false, initialBytes: MiB, maxBytes: 16 * 2 ** 30 });
  assert.is(arena.maxBytes, 4 * 2 ** 30);
});

test.run();
