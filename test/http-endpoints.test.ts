// Every endpoint and mode over real HTTP: the lab's JSON fields and types,
// and the same checksum from every mode and worker count for one seed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type RunningServer } from './fixtures/http-server.ts';

let server: RunningServer;
const get = async (path: string) => {
  const res = await fetch(server.url + path);
  return { res, body: (await res.json()) as Record<string, unknown> };
};

test.before(async () => {
  server = await startServer();
});
test.after(async () => {
  await server?.stop();
});

test('GET / is a plain-text index with one line per endpoint', async () => {
  const res = await fetch(server.url + '/');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^wasmatrix \d+\.\d+\.\d+: Matrix API: add, sub, mul, matmul/);
  for (const line of ['GET  /threading', 'GET  /multiprocessing', 'GET  /add', 'POST /add', 'GET  /sub', 'POST /sub', 'GET  /mul', 'POST /mul', 'GET  /matmul', 'POST /matmul', 'GET  /healthz', 'GET  /metrics']) assert.ok(text.includes(line), line);
});

test("GET /threading answers the lab's fields with the lab's types and defaults", async () => {
  const { res, body } = await get('/threading');
  assert.is(res.status, 200);
  assert.is(res.headers.get('content-type'), 'application/json');
  assert.is(body.status, 'ok');
  assert.is(body.method, 'Multithreading');
  assert.type(body.execution_time_sec, 'number');
  assert.ok((body.execution_time_sec as number) > 0 && (body.execution_time_sec as number) < 5);
  const sample = body.sample as number[];
  assert.is(sample.length, 10);
  for (const v of sample) assert.ok(Number.isInteger(v) && v >= 0 && v < 199, `int32 sum of two values in [0, 100): ${v}`);
  assert.is(body.n, 500);
  assert.is(body.dtype, 'int32');
  assert.is(body.mode, 'threads');
  assert.is(body.workers, 2, 'defaults to the pool size');
  assert.ok(Number.isInteger(body.seed) && (body.seed as number) >= 0 && (body.seed as number) <= 0xffffffff, 'a drawn seed is returned');
  assert.match(body.checksum as string, /^[0-9a-f]{8}$/);
});

test('GET /multiprocessing runs in the process pool', async () => {
  const { body } = await get('/multiprocessing?n=64&seed=3');
  assert.is(body.method, 'Multiprocessing');
  assert.is(body.mode, 'processes');
  assert.is(body.workers, 2);
});

test('a seed given twice gives the same answer; without a seed answers differ', async () => {
  const one = await get('/threading?n=50&seed=42');
  const two = await get('/threading?n=50&seed=42');
  assert.is(one.body.checksum, two.body.checksum);
  const draws = await Promise.all([get('/threading?n=50'), get('/threading?n=50')]);
  assert.is.not(draws[0].body.seed, draws[1].body.seed);
});

/** Each op's shape parameters for a 37 x 71 output (matmul: A 37 x 23, B 23 x 71). */
const SHAPE_QUERY: Record<string, string> = { add: 'rows=37&cols=71', sub: 'rows=37&cols=71', mul: 'rows=37&cols=71', matmul: 'm=37&k=23&n=71' };

test('for every op, one seed gives the same checksum and sample in every mode, kernel and worker count', async () => {
  for (const [op, shape] of Object.entries(SHAPE_QUERY))
  for (const dtype of ['int32', 'float32', 'float64']) {
    const ref = (await get(`/${op}?mode=ts&${shape}&dtype=${dtype}&seed=7`)).body;
    assert.is(ref.mode, 'ts');
    assert.is(ref.op, op);
    const variants = [
      'mode=wasm',
      'mode=threads&workers=1',
      'mode=threads&workers=2',
      'mode=threads&kernel=ts',
      'mode=processes&workers=1',
      'mode=processes&workers=2',
      'mode=processes&kernel=ts',
      'mode=auto',
      'mode=auto&workers=2',
    ];
    for (const v of variants) {
      const { body } = await get(`/${op}?${v}&${shape}&dtype=${dtype}&seed=7`);
      assert.is(body.checksum, ref.checksum, `${op} ${dtype} ${v}`);
      assert.equal(body.sample, ref.sample, `${op} ${dtype} ${v}`);
      assert.is(body.dtype, dtype);
      assert.is(body.rows, 37);
      assert.is(body.cols, 71);
      if (op === 'matmul') assert.equal([body.m, body.k, body.n], [37, 23, 71], 'matmul names its three dimensions');
      else assert.is(body.n, undefined, 'n only for square shapes');
    }
  }
  assert.is.not((await get('/sub?n=9&seed=7')).body.checksum, (await get('/add?n=9&seed=7')).body.checksum, 'the op reaches the kernels');
});

test('GET /matmul: n alone is square; m, k and n go together; rows/cols are refused; over --max-n is 413', async () => {
  const square = (await get('/matmul?n=12&seed=3')).body;
  assert.equal([square.m, square.k, square.n], [12, 12, 12]);
  assert.is(square.checksum, (await get('/matmul?m=12&k=12&n=12&seed=3')).body.checksum);
  assert.is((await get('/matmul?m=3&n=4')).res.status, 400);
  assert.is((await get('/matmul?rows=3&cols=4')).res.status, 400);
  assert.is((await get('/matmul?m=3&k=100000&n=4')).res.status, 413);
});

test('GET /add reports the mode auto picked, and kernel=ts runs the baseline inside a pool', async () => {
  const small = (await get('/add?n=8&seed=1')).body;
  assert.is(small.mode, 'wasm', 'a tiny job stays on the calling thread');
  assert.is(small.method, 'WebAssembly');
  const ts = (await get('/add?mode=threads&kernel=ts&n=100&seed=1')).body;
  assert.is(ts.kernel, 'ts');
  assert.is(ts.mode, 'threads');
});

test('float dtypes sample values in [0, 2)', async () => {
  for (const dtype of ['float32', 'float64']) {
    const { body } = await get(`/threading?n=20&dtype=${dtype}&seed=9`);
    const sample = body.sample as number[];
    for (const v of sample) assert.ok(v >= 0 && v < 2, `${dtype} ${v}`);
    assert.ok(sample.some((v) => !Number.isInteger(v)), `${dtype} values are not integers`);
  }
});

test('GET /healthz is 200 {"status": "ok"} while serving', async () => {
  const { res, body } = await get('/healthz');
  assert.is(res.status, 200);
  assert.equal(body, { status: 'ok' });
});

test('GET /metrics is Prometheus text with requests, durations, pools and the process', async () => {
  await get('/threading?n=10&seed=1');
  const res = await fetch(server.url + '/metrics');
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain; version=0.0.4/);
  const text = await res.text();
  assert.match(text, /wasmatrix_http_requests_total\{route="\/threading",mode="threads",status="200"\} \d+/);
  assert.match(text, /wasmatrix_http_request_duration_seconds_bucket\{le="0.001",route="\/threading"\} \d+/);
  assert.match(text, /wasmatrix_kernel_duration_seconds_count\{mode="threads",dtype="int32"\} \d+/);
  assert.match(text, /wasmatrix_pool_size\{pool="threads"\} 2/);
  assert.match(text, /wasmatrix_pool_size\{pool="processes"\} 2/);
  for (const name of ['wasmatrix_pool_busy_workers', 'wasmatrix_pool_queue_length', 'wasmatrix_pool_worker_restarts', 'process_cpu_seconds_total', 'process_resident_memory_bytes']) {
    assert.ok(text.includes(`# TYPE ${name}`), name);
  }
});

test.run();
