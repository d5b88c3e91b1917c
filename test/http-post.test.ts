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

/** The reference: what NumPy's a + b gives for the dtype. */
function reference(dtype: Dtype, a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out = new ARRAY[dtype](a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!; // Int32Array stores wrap, Float32Array stores round
  return Array.from(out);
}

/** Deterministic values that exercise the edges of each dtype. */
function values(dtype: Dtype, count: number, salt: number): number[] {
  const edges = dtype === 'int32' ? [2147483647, -2147483648, 0, -1, 1] : [0.1, -0.2, 1e-7, 3.4e38, -0];
  return Array.from({ length: count }, (_, i) => {
    if (i < edges.length) return edges[(i + salt) % edges.length]!;
    const x = Math.sin(i * 12.9898 + salt) * 43758.5453;
    return dtype === 'int32' ? Math.trunc(x * 1000) | 0 : dtype === 'float32' ? Math.fround(x - Math.floor(x)) : x;
  });
}

const rowsOf = (flat: number[], cols: number) => Array.from({ length: flat.length / cols }, (_, i) => flat.slice(i * cols, (i + 1) * cols));

async function postJson(doc: unknown, query = '') {
  const res = await fetch(`${server.url}/add${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
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

test('JSON: every dtype, shape and mode equals the reference element by element, with one checksum per input', async () => {
  for (const dtype of ['int32', 'float32', 'float64'] as Dtype[]) {
    for (const [rows, cols] of [[1, 1], [3, 5], [17, 17], [64, 63]] as const) {
      const a = values(dtype, rows * cols, 1);
      const b = values(dtype, rows * cols, 2);
      const expected = rowsOf(reference(dtype, a, b), cols);
      let checksum: string | undefined;
      for (const mode of ['ts', 'wasm', 'threads', 'processes', 'auto']) {
        const { res, body } = await postJson({ a: rowsOf(a, cols), b: rowsOf(b, cols), dtype }, `?mode=${mode}`);
        assert.is(res.status, 200, `${dtype} ${rows}x${cols} ${mode}`);
        assert.equal(body.result, expected, `${dtype} ${rows}x${cols} ${mode}`);
        checksum ??= body.checksum;
        assert.is(body.checksum, checksum, `${dtype} ${rows}x${cols} ${mode} checksum`);
      }
    }
  }
});

async function postBinary(dtype: Dtype, rows: number, cols: number, a: ArrayLike<number>, b: ArrayLike<number>, query = '') {
  const count = rows * cols;
  const body = new ARRAY[dtype](2 * count);
  body.set(a);
  body.set(b, count);
  const res = await fetch(`${server.url}/add?rows=${rows}&cols=${cols}&dtype=${dtype}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array(body.buffer),
  });
  return { res, out: new ARRAY[dtype](await res.arrayBuffer()) };
}

test('binary: raw little-endian A then B in, raw result out, metadata in headers', async () => {
  for (const dtype of ['int32', 'float32', 'float64'] as Dtype[]) {
    const rows = 13;
    const cols = 29;
    const a = values(dtype, rows * cols, 3);
    const b = values(dtype, rows * cols, 4);
    for (const mode of ['wasm', 'threads', 'processes']) {
      const { res, out } = await postBinary(dtype, rows, cols, a, b, `&mode=${mode}`);
      assert.is(res.status, 200);
      assert.is(res.headers.get('content-type'), 'application/octet-stream');
      assert.is(res.headers.get('x-shape'), `${rows},${cols}`);
      assert.is(res.headers.get('x-dtype'), dtype);
      assert.is(res.headers.get('x-mode'), mode);
      assert.match(res.headers.get('x-checksum')!, /^[0-9a-f]{8}$/);
      assert.ok(Number(res.headers.get('x-execution-time-sec')) > 0);
      assert.equal(Array.from(out), reference(dtype, a, b), `${dtype} ${mode}`);
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
  assert.equal(body.result, rowsOf(reference('float64', a, b), n));
});

test.run();
