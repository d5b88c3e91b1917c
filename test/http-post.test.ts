// POST /add with caller matrices, JSON and raw bytes, checked element by
// element against a plain reference: int32 wraps around, float32 rounds,
// float64 is exact; large answers stream with backpressure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from './fixtures/http-server.ts';

let server: RunningServer;
test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server?.stop();
});

type Dtype = 'int32' | 'float32' | 'float64';
const ARRAY = { int32: Int32Array, float32: Float32Array, float64: Float64Array };

type Op = 'add' | 'sub' | 'mul' | 'matmul';
const ELEMENTWISE: Record<Exclude<Op, 'matmul'>, (x: number, y: number) => number> = { add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y };

/** A job's shape: the output is m x n; matmul's A is m x k and B k x n, element-wise ops have k = n. */
interface Dims {
  m: number;
  k: number;
  n: number;
}

/**
 * The reference: what NumPy gives for the dtype (element-wise: Int32Array stores wrap, Float32Array
 * stores round; int32 mul as Math.imul). matmul: a plain triple loop in the documented order (each
 * element summed over k ascending from +0, one rounding per multiply and per add, no FMA).
 */
function reference(op: Op, dtype: Dtype, inA: ArrayLike<number>, inB: ArrayLike<number>, d: Dims): number[] {
  // the operands as the server holds them (0.1 as a float32 is not 0.1)
  const a = ARRAY[dtype].from(inA);
  const b = ARRAY[dtype].from(inB);
  const out = new ARRAY[dtype](d.m * d.n);
  if (op !== 'matmul') {
    const f = op === 'mul' && dtype === 'int32' ? Math.imul : ELEMENTWISE[op];
    for (let i = 0; i < out.length; i++) out[i] = f(a[i]!, b[i]!);
    return Array.from(out);
  }
  const round = dtype === 'int32' ? (v: number) => v | 0 : dtype === 'float32' ? Math.fround : (v: number) => v;
  const times = dtype === 'int32' ? Math.imul : (x: number, y: number) => round(x * y);
  for (let i = 0; i < d.m; i++)
    for (let j = 0; j < d.n; j++) {
      let acc = 0;
      for (let p = 0; p < d.k; p++) acc = round(acc + times(a[i * d.k + p]!, b[p * d.n + j]!));
      out[i * d.n + j] = acc;
    }
  return Array.from(out);
}

/** The sizes of A and B. */
const sizes = (op: Op, d: Dims) => (op === 'matmul' ? { a: d.m * d.k, b: d.k * d.n, aCols: d.k } : { a: d.m * d.n, b: d.m * d.n, aCols: d.n });
/** The shape parameters of a binary POST. */
const shapeQuery = (op: Op, d: Dims) => (op === 'matmul' ? `m=${d.m}&k=${d.k}&n=${d.n}` : `rows=${d.m}&cols=${d.n}`);
const OPS: Op[] = ['add', 'sub', 'mul', 'matmul'];

/** Deterministic values that exercise the edges of each dtype (matmul: no float that would overflow a sum to Infinity, which JSON cannot carry). */
function values(dtype: Dtype, count: number, salt: number, op: Op = 'add'): number[] {
  const edges = dtype === 'int32' ? [2147483647, -2147483648, 0, -1, 1] : op === 'matmul' ? [0.1, -0.2, 1e-7, 3.5, -0] : [0.1, -0.2, 1e-7, 3.4e38, -0];
  return Array.from({ length: count }, (_, i) => {
    if (i < edges.length) return edges[(i + salt) % edges.length]!;
    const x = Math.sin(i * 12.9898 + salt) * 43758.5453;
    return dtype === 'int32' ? Math.trunc(x * 1000) | 0 : dtype === 'float32' ? Math.fround(x - Math.floor(x)) : x;
  });
}

const rowsOf = (flat: number[], cols: number) => Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));

async function postJson(doc: unknown, query = '', op: Op = 'add') {
  const res = await fetch(`${server.url}/${op}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
  return { res, body: (await res.json()) as { status: string; shape: number[]; dtype: string; result: number[][]; execution_time_sec: number; mode: string; workers: number; checksum: string } };
}

test('JSON: int32 inferred, wraps around at both ends, answers the documented fields', async () => {
  const { res, body } = await postJson({ a: [[2147483647, -2147483648, 5]], b: [[1, -1, 6]] });
  assert.is(res.status, 200);
  assert.is(body.status, 'ok');
  assert.equal(body.shape, [1, 3]);
  assert.is(body.dtype, 'int32');
  assert.equal(body.result, [[-2147483648, 2147483647, 11]]);
  assert.type(body.execution_time_sec, 'number');
  assert.type(body.mode, 'string');
  assert.type(body.workers, 'number');
  assert.match(body.checksum, /^[0-9a-f]{8}$/);
});

test('JSON: dtype defaults to float64 when any element is not an int32', async () => {
  assert.is((await postJson({ a: [[1.5]], b: [[1]] })).body.dtype, 'float64');
  assert.is((await postJson({ a: [[2147483648]], b: [[1]] })).body.dtype, 'float64');
  assert.equal((await postJson({ a: [[0.1]], b: [[0.2]] })).body.result, [[0.1 + 0.2]]);
});

test('JSON: every op, dtype, shape and mode equals the reference element by element, with one checksum per input', async () => {
  for (const op of OPS)
  for (const dtype of ['int32', 'float32', 'float64'] as Dtype[]) {
    for (const [m, k, n] of [[1, 1, 1], [3, 4, 5], [17, 9, 17], [64, 70, 63]] as const) {
      const d = op === 'matmul' ? { m, k, n } : { m, k: n, n };
      const size = sizes(op, d);
      const a = values(dtype, size.a, 1, op);
      const b = values(dtype, size.b, 2, op);
      const expected = rowsOf(reference(op, dtype, a, b, d), d.n);
      const label = `${op} ${dtype} ${d.m}x${d.k}x${d.n}`;
      let checksum: string | undefined;
      for (const mode of ['ts', 'wasm', 'threads', 'processes', 'auto']) {
        const { res, body } = await postJson({ a: rowsOf(a, size.aCols), b: rowsOf(b, d.n), dtype }, `?mode=${mode}`, op);
        assert.is(res.status, 200, `${label} ${mode}`);
        assert.equal(body.shape, [d.m, d.n], `${label} ${mode}`);
        assert.equal(body.result, expected, `${label} ${mode}`);
        checksum ??= body.checksum;
        assert.is(body.checksum, checksum, `${label} ${mode} checksum`);
      }
    }
  }
});

test('matmul: A columns must equal B rows (422, JSON and binary); int32 wraps around', async () => {
  const bad = await postJson({ a: [[1, 2, 3]], b: [[1, 2, 3]] }, '', 'matmul');
  assert.is(bad.res.status, 422);
  const wrongLength = await fetch(`${server.url}/matmul?m=2&k=3&n=2&dtype=int32`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(4 * 11) });
  assert.is(wrongLength.status, 422);
  const wrap = await postJson({ a: [[2147483647, 2147483647]], b: [[2], [3]] }, '', 'matmul');
  assert.equal(wrap.body.result, [[(Math.imul(2147483647, 2) + Math.imul(2147483647, 3)) | 0]]);
});

async function postBinary(dtype: Dtype, rows: number, cols: number, a: ArrayLike<number>, b: ArrayLike<number>, query = '', op: Op = 'add', k = cols) {
  const body = new ARRAY[dtype](a.length + b.length);
  body.set(a);
  body.set(b, a.length);
  const res = await fetch(`${server.url}/${op}?${shapeQuery(op, { m: rows, k, n: cols })}&dtype=${dtype}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(body.buffer),
  });
  return { res, out: new ARRAY[dtype](await res.arrayBuffer()) };
}

test('binary: raw little-endian A then B in, raw result out, metadata in headers, for every op', async () => {
  for (const op of OPS)
  for (const dtype of ['int32', 'float32', 'float64'] as Dtype[]) {
    const rows = 13;
    const cols = 29;
    const d = { m: rows, k: op === 'matmul' ? 11 : cols, n: cols };
    const size = sizes(op, d);
    // binary carries NaN and Infinity: the matmul values keep the float edges that overflow
    const a = values(dtype, size.a, 3);
    const b = values(dtype, size.b, 4);
    for (const mode of ['wasm', 'threads', 'processes']) {
      const { res, out } = await postBinary(dtype, rows, cols, a, b, `&mode=${mode}`, op, d.k);
      assert.is(res.status, 200);
      assert.is(res.headers.get('content-type'), 'application/octet-stream');
      assert.is(res.headers.get('x-shape'), `${rows},${cols}`);
      assert.is(res.headers.get('x-dtype'), dtype);
      assert.is(res.headers.get('x-mode'), mode);
      assert.match(res.headers.get('x-checksum')!, /^[0-9a-f]{8}$/);
      assert.ok(Number(res.headers.get('x-execution-time-sec')) > 0);
      assert.equal(Array.from(out), reference(op, dtype, a, b, d), `${op} ${dtype} ${mode}`);
    }
  }
});

test('binary and JSON agree on the checksum of the same matrices', async () => {
  const a = values('int32', 12, 5);
  const b = values('int32', 12, 6);
  const json = await postJson({ a: rowsOf(a, 4), b: rowsOf(b, 4) });
  const bin = await postBinary('int32', 3, 4, a, b);
  assert.is(bin.res.headers.get('x-checksum'), json.body.checksum);
});

test('a 2048 x 2048 float32 binary result (16 MiB) streams back intact', async () => {
  const n = 2048;
  const a = new Float32Array(n * n).map((_, i) => i * 0.5);
  const b = new Float32Array(n * n).fill(0.25);
  const { res, out } = await postBinary('float32', n, n, a, b, '&mode=threads');
  assert.is(res.status, 200);
  assert.is(out.length, n * n);
  for (const i of [0, 1, n, n * n - 1, 1234567]) assert.is(out[i], Math.fround(a[i]! + 0.25), `element ${i}`);
});

test('a 400 x 400 JSON result streams back as chunks and parses whole', async () => {
  const n = 400;
  const a = values('float64', n * n, 7);
  const b = values('float64', n * n, 8);
  const { res, body } = await postJson({ a: rowsOf(a, n), b: rowsOf(b, n) });
  assert.is(res.status, 200);
  assert.equal(body.result, rowsOf(reference('add', 'float64', a, b, { m: n, k: n, n }), n));
});

test.run();
