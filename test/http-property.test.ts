// Properties of POST /add over random inputs (fast-check): (a) any shape,
// dtype, values and mode, as JSON or raw bytes, gives what a plain reference
// gives (int32 wraps, float32 rounds once, float64 is exact), with the
// checksum the README defines; (b) random garbage (bodies, content types,
// query strings, methods, raw bytes that are not HTTP) never gets a status
// outside the documented set, every error is problem+json, and the server
// is alive and healthy at the end.

import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, waitFor, type RunningServer } from './fixtures/http-server.ts';
import { scrapeMetric } from './fixtures/server-inspect.ts';
import { assertProblem, assertServing, rawHttp, rawRequest, type Chunks } from './fixtures/raw-http.ts';

const MAX_N = 128;

let server: RunningServer;
test.before(async () => {
  server = await startServer(['--max-n', String(MAX_N), '--max-body', String(1 << 20)]);
});
test.after(async () => {
  await server?.stop();
});

type Dtype = 'int32' | 'float32' | 'float64';
const ARRAY = { int32: Int32Array, float32: Float32Array, float64: Float64Array };
const MODES = ['ts', 'wasm', 'threads', 'processes', 'auto'] as const;
type Mode = (typeof MODES)[number];

interface AddCase {
  rows: number;
  cols: number;
  dtype: Dtype;
  mode: Mode;
  workers: number | undefined;
  a: number[];
  b: number[];
}

// ---- the reference -------------------------------------------------------

/** What NumPy's a + b gives: Int32Array stores wrap around, Float32Array stores round once. */
function reference(dtype: Dtype, a: number[], b: number[]): Int32Array | Float32Array | Float64Array {
  const out = new ARRAY[dtype](a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** The README's checksum: sum of w[k] * (2k + 1) mod 2^32 over the result's little-endian 32-bit words. */
function checksum(out: Int32Array | Float32Array | Float64Array): string {
  const words = new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4);
  let sum = 0;
  for (let k = 0; k < words.length; k++) sum = (sum + Math.imul(words[k]!, 2 * k + 1)) >>> 0;
  return sum.toString(16).padStart(8, '0');
}

const rowsOf = (flat: ArrayLike<number>, cols: number) => Array.from({ length: flat.length / cols }, (_, i) => Array.from(flat).slice(i * cols, (i + 1) * cols));

// ---- generators ----------------------------------------------------------

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** 1..70, with the sizes around SIMD widths and unrolling (1, 3, 5, 17, 63, 65) drawn often. */
const side = fc.oneof(fc.constantFrom(1, 3, 5, 17, 63, 65), fc.integer({ min: 1, max: 70 }));
/** Values per dtype: either moderate (no float sum can overflow) or the whole range (edges, wrap-around, overflow). */
const ELEMENTS: Record<Dtype, { moderate: fc.Arbitrary<number>; full: fc.Arbitrary<number> }> = {
  int32: {
    moderate: fc.integer({ min: -1000, max: 1000 }),
    full: fc.oneof(fc.integer(), fc.constantFrom(INT32_MAX, INT32_MIN, -1, 0, 1)),
  },
  float32: {
    moderate: fc.float({ min: -1e6, max: 1e6, noNaN: true }),
    full: fc.float({ noNaN: true, noDefaultInfinity: true }),
  },
  float64: {
    moderate: fc.double({ min: -1e12, max: 1e12, noNaN: true }),
    full: fc.double({ noNaN: true, noDefaultInfinity: true }),
  },
};

const addCase: fc.Arbitrary<AddCase> = fc
  .record({
    rows: side,
    cols: side,
    dtype: fc.constantFrom<Dtype>('int32', 'float32', 'float64'),
    mode: fc.constantFrom(...MODES),
    workers: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
    range: fc.constantFrom('moderate', 'moderate', 'moderate', 'full'),
  })
  .chain(({ rows, cols, dtype, mode, workers, range }) => {
    const values = fc.array(ELEMENTS[dtype][range as 'moderate' | 'full'], { minLength: rows * cols, maxLength: rows * cols });
    // the calling-thread modes run on one worker: only 1 may be named
    const w = mode === 'ts' || mode === 'wasm' ? (workers === undefined ? undefined : 1) : workers;
    return fc.record({ a: values, b: values }).map(({ a, b }) => ({ rows, cols, dtype, mode, workers: w, a, b }));
  });

const runQuery = (c: AddCase) => `mode=${c.mode}${c.workers === undefined ? '' : `&workers=${c.workers}`}`;

// ---- (a) correctness ------------------------------------------------------

interface JsonAnswer {
  status: string;
  shape: number[];
  dtype: string;
  result: number[][];
  checksum: string;
  mode: string;
}

test('JSON: any shape, dtype, values and mode give the reference result and checksum (or 422 when a float sum overflows)', async () => {
  await fc.assert(
    fc.asyncProperty(addCase, fc.boolean(), async (c, namesDtype) => {
      // the server sees the numbers JSON carries (-0 becomes 0): the reference starts from the same
      const a = JSON.parse(JSON.stringify(c.a)) as number[];
      const b = JSON.parse(JSON.stringify(c.b)) as number[];
      // int32 is inferred when every element is an int32; floats must name their dtype
      const doc = { a: rowsOf(a, c.cols), b: rowsOf(b, c.cols), ...((namesDtype || c.dtype !== 'int32') && { dtype: c.dtype }) };
      const res = await fetch(`${server.url}/add?${runQuery(c)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) });
      const text = await res.text();
      const expected = reference(c.dtype, a, b);
      const overflow = expected.findIndex((v) => !Number.isFinite(v));
      if (overflow >= 0) {
        const p = assertProblem(res.status, res.headers.get('content-type'), text, { status: 422, code: 'INVALID_MATRIX' }, 'overflow');
        assert.is(p.element, `result[${Math.floor(overflow / c.cols)}][${overflow % c.cols}]`);
        return;
      }
      assert.is(res.status, 200, text.slice(0, 300));
      const body = JSON.parse(text) as JsonAnswer;
      assert.is(body.dtype, c.dtype);
      assert.equal(body.shape, [c.rows, c.cols]);
      if (c.mode !== 'auto') assert.is(body.mode, c.mode);
      assert.equal(body.result, rowsOf(expected, c.cols));
      assert.is(body.checksum, checksum(expected));
    }),
    { numRuns: 80 },
  );
});

test('binary: any shape, dtype, values and mode give the reference bytes (Infinity included) and checksum', async () => {
  await fc.assert(
    fc.asyncProperty(addCase, async (c) => {
      const body = new ARRAY[c.dtype](2 * c.a.length);
      body.set(c.a);
      body.set(c.b, c.a.length);
      const res = await fetch(`${server.url}/add?rows=${c.rows}&cols=${c.cols}&dtype=${c.dtype}&${runQuery(c)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(body.buffer),
      });
      const out = new Uint8Array(await res.arrayBuffer());
      assert.is(res.status, 200, Buffer.from(out).toString().slice(0, 300));
      // the reference from the values as stored (float32 inputs are already float32: fc.float draws them)
      const expected = reference(c.dtype, Array.from(body.subarray(0, c.a.length)), Array.from(body.subarray(c.a.length)));
      assert.ok(Buffer.from(out).equals(Buffer.from(expected.buffer)), `${c.dtype} ${c.rows}x${c.cols} ${c.mode}: bit for bit`);
      assert.is(res.headers.get('x-checksum'), checksum(expected));
      assert.is(res.headers.get('x-shape'), `${c.rows},${c.cols}`);
    }),
    { numRuns: 80 },
  );
});

// ---- (b) garbage -----------------------------------------------------------

/** Every status the README documents for a request the server could parse. */
const DOCUMENTED = new Set([200, 400, 404, 405, 413, 415, 422, 503]);

/** A valid JSON pair, then a few edits: delete, insert, replace or duplicate a character, or cut the text short. */
const mutatedJson = fc
  .tuple(
    fc.record({ a: fc.array(fc.array(fc.integer(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), b: fc.array(fc.array(fc.double(), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }) }),
    fc.array(fc.tuple(fc.constantFrom('delete', 'insert', 'replace', 'duplicate', 'cut'), fc.nat(), fc.constantFrom(...'[]{},:"-.eE0189 nultrfas\\', '\u00ff', '\ud800', 'NaN', 'Infinity')), { minLength: 1, maxLength: 4 }),
  )
  .map(([doc, edits]) => {
    let s = JSON.stringify(doc);
    for (const [op, at, ch] of edits) {
      const i = at % (s.length + 1);
      if (op === 'delete') s = s.slice(0, i) + s.slice(i + 1);
      else if (op === 'insert') s = s.slice(0, i) + ch + s.slice(i);
      else if (op === 'replace') s = s.slice(0, i) + ch + s.slice(i + 1);
      else if (op === 'duplicate') s = s.slice(0, i) + s.slice(i / 2, i) + s.slice(i);
      else s = s.slice(0, i);
    }
    return s;
  });

const garbageBody = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 4 }),
  mutatedJson,
);

const contentType = fc.oneof(
  fc.constantFrom('application/json', 'application/octet-stream', 'application/json; charset=utf-8', 'APPLICATION/OCTET-STREAM', 'text/plain', 'multipart/form-data; boundary=x', 'application/json;', ';application/json', undefined),
  fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/),
);

const queryValue = fc.oneof(
  fc.constantFrom('1', '2', '3', '64', String(MAX_N), String(MAX_N + 1), '0', '-1', '1e9', '1e400', '1.5', '4294967296', '0x10', 'abc', '', 'int32', 'float32', 'float64', 'int8', 'ts', 'wasm', 'threads', 'processes', 'auto', 'gpu'),
  fc.string({ maxLength: 12 }),
);
const queryKey = fc.oneof(fc.constantFrom('n', 'rows', 'cols', 'dtype', 'mode', 'workers', 'seed', 'kernel', 'x', ''), fc.string({ maxLength: 6 }));
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const garbageRequest = fc.record({
  method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH'),
  path: fc.constantFrom('/add', '/add', '/add', '/threading', '/multiprocessing', '/healthz', '/nope'),
  query,
  type: contentType,
  body: garbageBody,
});

/** A status the README documents; a problem+json with a documented code when it is not 200. */
function assertDocumented(status: number, type: string | null | undefined, body: string, label: string): void {
  assert.ok(DOCUMENTED.has(status), `${label}: ${status} is a documented status (${body.slice(0, 200)})`);
  if (status !== 200) assertProblem(status, type, body, { status }, label);
}

test('garbage bodies, content types, query strings and methods only ever get documented statuses and problem+json', async () => {
  await fc.assert(
    fc.asyncProperty(garbageRequest, async (r) => {
      const hasBody = r.method !== 'GET';
      const res = await fetch(`${server.url}${r.path}?${r.query}`, {
        method: r.method,
        headers: r.type === undefined ? {} : { 'content-type': r.type },
        ...(hasBody && { body: r.body }),
      });
      const text = await res.text();
      assertDocumented(res.status, res.headers.get('content-type'), text, `${r.method} ${r.path}?${r.query} (${r.type})`);
      if (res.status === 200 && res.headers.get('content-type') === 'application/json') JSON.parse(text);
    }),
    { numRuns: 300 },
  );
});

/** A valid raw request, then byte edits: the HTTP parser's input, not only the app's. */
const mutatedRaw = fc
  .tuple(
    fc.constantFrom(rawHttp('POST', '/add?mode=wasm', 'content-type: application/json\r\n', '{"a":[[1,2]],"b":[[3,4]]}'), rawHttp('GET', '/threading?n=5&seed=1'), rawHttp('POST', '/add?n=1&dtype=int32', 'content-type: application/octet-stream\r\n', new Uint8Array(8))),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
  )
  .map(([chunks, edits]) => {
    const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c)));
    for (const [at, value] of edits) bytes[at % bytes.length] = value;
    return [bytes] as Chunks;
  });

test('raw bytes (random, or a valid request with bytes changed) get no answer or a documented one', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => [b] as Chunks), mutatedRaw), async (chunks) => {
      const r = await rawRequest(server.url, chunks, { ms: 150 });
      if (r.status !== 0) assertDocumented(r.status, r.headers['content-type'], r.body.toString(), 'raw');
    }),
    { numRuns: 60 },
  );
});

test('after all of that the server is alive, healthy, serves correct answers and logged no error', async () => {
  assert.is(server.child.exitCode, null, 'the process is alive');
  assert.is((await fetch(`${server.url}/healthz`)).status, 200);
  await assertServing(server.url, 'after the properties');
  // a connection the last property just closed may still be on its way out of the server: wait, but not forever
  await waitFor('no request in flight but this /metrics one', async () => (await scrapeMetric(server.url, 'wasmatrix_http_in_flight_requests')) === 1);
  assert.not.match(server.output().stderr, /\[(ERROR|CRITICAL)\]/, 'nothing logged as an error');
});

test.run();
