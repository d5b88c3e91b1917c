// mode=cluster answers bit for bit what the TS reference (mode=ts) answers, for
// every op and dtype, GET (random, seed only on the wire) and POST (caller
// data: rows per band, matmul's B through the object store), at odd sizes,
// with int32 wrap-around, matmul's m, k, n all different, more bands than
// worker threads, and jobs whose bands must be split to fit NATS's 1 MiB
// messages. Two worker hosts (1 and 2 threads) on a nats-server of the test's own.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunningServer } from './fixtures/http-server.ts';
import { metric, startClusterServer, startNats, startWorker, waitForWorkers, type Nats, type Worker } from './fixtures/nats.ts';
import { toolsPresent } from './fixtures/proxies.ts';

type Dtype = 'int32' | 'float32' | 'float64';
type Op = 'add' | 'sub' | 'mul' | 'matmul';
const DTYPES: Dtype[] = ['int32', 'float32', 'float64'];
const OPS: Op[] = ['add', 'sub', 'mul', 'matmul'];
const ARRAY = { int32: Int32Array, float32: Float32Array, float64: Float64Array };
/** [m, k, n]: the output is m x n; element-wise ops use m x n. */
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 17, 65], [65, 3, 17], [17, 65, 3]];

if (toolsPresent('cluster equivalence', ['nats-server'])) {
  let nats: Nats | undefined;
  let server: RunningServer | undefined;
  const workers: Worker[] = [];

  test.before(async () => {
    nats = await startNats();
    workers.push(await startWorker(nats.url, 'eq-1', 1), await startWorker(nats.url, 'eq-2', 2));
    server = await startClusterServer(nats);
    await waitForWorkers(server, 2);
  });
  test.after(async () => {
    await server?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await nats?.close();
  });

  const shapeQuery = (op: Op, [m, k, n]: [number, number, number]): string => (op === 'matmul' ? `m=${m}&k=${k}&n=${n}` : `rows=${m}&cols=${n}`);

  async function getJson(path: string): Promise<{ status: number; body: { checksum: string; sample: number[]; mode: string; workers: number } }> {
    const res = await fetch(`${server!.url}${path}`);
    return { status: res.status, body: (await res.json()) as { checksum: string; sample: number[]; mode: string; workers: number } };
  }

  test('/healthz lists both workers and their threads', async () => {
    const c = await waitForWorkers(server!, 2);
    assert.equal(c.names, ['eq-1', 'eq-2']);
    assert.is(c.threads, 3);
  });

  test('GET: every op, dtype and odd shape gives the reference checksum and sample, split over the live threads and over more bands', async () => {
    for (const op of OPS)
      for (const dtype of DTYPES)
        for (const shape of SHAPES) {
          const q = `${shapeQuery(op, shape)}&dtype=${dtype}&seed=${shape[0] * 7 + shape[2]}`;
          const ref = await getJson(`/${op}?mode=ts&${q}`);
          assert.is(ref.status, 200);
          for (const extra of ['', '&workers=5']) {
            const got = await getJson(`/${op}?mode=cluster&${q}${extra}`);
            const label = `${op} ${dtype} ${shape.join('x')}${extra}`;
            assert.is(got.status, 200, label);
            assert.is(got.body.mode, 'cluster', label);
            assert.is(got.body.checksum, ref.body.checksum, label);
            assert.equal(got.body.sample, ref.body.sample, label);
            assert.is(got.body.workers, Math.min(shape[0], extra ? 5 : 3), `${label}: bands`);
          }
        }
  });

  /** Values at the edges of each dtype (int32 wraps around in add, sub and mul), deterministic. */
  function values(dtype: Dtype, count: number, salt: number, op: Op): number[] {
    const edges = dtype === 'int32' ? [2147483647, -2147483648, 0, -1, 1] : op === 'matmul' ? [0.1, -0.2, 1e-7, 3.5, -0] : [0.1, -0.2, 1e-7, 3.4e38, -0];
    return Array.from({ length: count }, (_, i) => {
      if (i < edges.length) return edges[(i + salt) % edges.length]!;
      const x = Math.sin(i * 12.9898 + salt) * 43758.5453;
      return dtype === 'int32' ? Math.trunc(x * 100000) | 0 : x - Math.floor(x) - 0.5;
    });
  }

  async function postBinary(op: Op, dtype: Dtype, shape: [number, number, number], mode: string): Promise<{ status: number; bytes: Uint8Array; checksum: string | null; workers: string | null }> {
    const [m, k, n] = shape;
    const sizeA = op === 'matmul' ? m * k : m * n;
    const sizeB = op === 'matmul' ? k * n : m * n;
    const body = new ARRAY[dtype](sizeA + sizeB);
    body.set(values(dtype, sizeA, 1, op));
    body.set(values(dtype, sizeB, 2, op), sizeA);
    const res = await fetch(`${server!.url}/${op}?${shapeQuery(op, shape)}&dtype=${dtype}&mode=${mode}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(body.buffer) });
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), checksum: res.headers.get('x-checksum'), workers: res.headers.get('x-workers') };
  }

  test('POST raw bytes: every op, dtype and odd shape gives the reference bytes (int32 wrap-around, matmul B through the object store)', async () => {
    for (const op of OPS)
      for (const dtype of DTYPES)
        for (const shape of SHAPES) {
          const label = `${op} ${dtype} ${shape.join('x')}`;
          const ref = await postBinary(op, dtype, shape, 'ts');
          const got = await postBinary(op, dtype, shape, 'cluster');
          assert.is(ref.status, 200, label);
          assert.is(got.status, 200, label);
          assert.ok(Buffer.from(got.bytes).equals(Buffer.from(ref.bytes)), `${label}: bytes`);
          assert.is(got.checksum, ref.checksum, label);
        }
  });

  test('POST JSON in cluster mode: int32 wraps around', async () => {
    const res = await fetch(`${server!.url}/add?mode=cluster`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: [[2147483647, -2147483648, 5]], b: [[1, -1, 6]] }) });
    assert.is(res.status, 200);
    assert.equal(((await res.json()) as { result: number[][] }).result, [[-2147483648, 2147483647, 11]]);
  });

  test('jobs larger than one NATS message are split into more bands, and still match', async () => {
    // 2 x 400 x 400 float64 = 2.5 MB of operands and 1.3 MB of result: at least 3 bands of 1 MiB
    for (const [op, shape] of [['add', [400, 400, 400]], ['matmul', [300, 310, 290]]] as [Op, [number, number, number]][]) {
      const ref = await postBinary(op, 'float64', shape, 'ts');
      const got = await postBinary(op, 'float64', shape, 'cluster');
      assert.is(got.status, 200, op);
      assert.ok(Number(got.workers) >= 3, `${op}: ${got.workers} bands`);
      assert.ok(Buffer.from(got.bytes).equals(Buffer.from(ref.bytes)), `${op}: bytes`);
    }
  });

  test('every band sent was answered once; none redelivered, failed or abandoned', async () => {
    const sent = await metric(server!, 'wasmatrix_cluster_bands_total{outcome="sent"}');
    assert.ok(sent > 0);
    assert.is(await metric(server!, 'wasmatrix_cluster_bands_total{outcome="done"}'), sent);
    for (const outcome of ['redelivered', 'failed', 'abandoned']) assert.is(await metric(server!, `wasmatrix_cluster_bands_total{outcome="${outcome}"}`), 0, outcome);
    assert.is((await waitForWorkers(server!, 2)).workers, 2);
    assert.is(await metric(server!, 'wasmatrix_cluster_workers'), 2);
  });

  test.run();
}
